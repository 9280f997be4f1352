/**
 * A strict little XML parser for checking our SVG output: elements, attributes (quoted), text, the five predefined
 * entities and numeric character references, comments. Anything else (unclosed or mismatched tags, duplicate
 * attributes, stray '<' or '&', text outside the root) throws.
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;

function decode(s: string): string {
  if (s.includes('<')) throw new Error('raw < in text or attribute');
  return s.replace(/&([^;]*);?/g, (m, body: string) => {
    if (!m.endsWith(';')) throw new Error(`unterminated entity ${m}`);
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (body in named) return named[body];
    if (/^#[0-9]+$/.test(body)) return String.fromCodePoint(Number(body.slice(1)));
    if (/^#x[0-9a-fA-F]+$/.test(body)) return String.fromCodePoint(parseInt(body.slice(2), 16));
    throw new Error(`unknown entity &${body};`);
  });
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  while (i < src.length) {
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
    } else if (src.startsWith('</', i)) {
      i += 2;
      const m = NAME.exec(src.slice(i));
      if (!m) throw new Error(`bad closing tag at ${i}`);
      i += m[0].length;
      ws();
      if (src[i] !== '>') throw new Error(`bad closing tag at ${i}`);
      i++;
      const open = stack.pop();
      if (open === undefined || open.name !== m[0]) throw new Error(`</${m[0]}> does not close <${open?.name}>`);
    } else if (src[i] === '<') {
      i++;
      const m = NAME.exec(src.slice(i));
      if (!m) throw new Error(`bad tag at ${i}`);
      i += m[0].length;
      const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
      for (;;) {
        const before = i;
        ws();
        if (src.startsWith('/>', i) || src[i] === '>') break;
        if (i === before) throw new Error(`attributes need whitespace at ${i}`);
        const a = NAME.exec(src.slice(i));
        if (!a) throw new Error(`bad attribute at ${i}`);
        i += a[0].length;
        if (src[i] !== '=') throw new Error(`attribute ${a[0]} without value`);
        const q = src[i + 1];
        if (q !== '"' && q !== "'") throw new Error(`unquoted attribute ${a[0]}`);
        const end = src.indexOf(q, i + 2);
        if (end < 0) throw new Error('unterminated attribute');
        if (a[0] in el.attrs) throw new Error(`duplicate attribute ${a[0]}`);
        el.attrs[a[0]] = decode(src.slice(i + 2, end));
        i = end + 1;
      }
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root === null) root = el;
      else throw new Error('more than one root element');
      if (src.startsWith('/>', i)) i += 2;
      else {
        i++;
        stack.push(el);
      }
    } else {
      const end = src.indexOf('<', i);
      const text = src.slice(i, end < 0 ? src.length : end);
      const top = stack[stack.length - 1];
      if (top) top.text += decode(text);
      else if (text.trim() !== '') throw new Error('text outside the root element');
      i = end < 0 ? src.length : end;
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root === null) throw new Error('no root element');
  return root;
}

export function findAll(el: XmlElement, name: string, out: XmlElement[] = []): XmlElement[] {
  if (el.name === name) out.push(el);
  for (const c of el.children) findAll(c, name, out);
  return out;
}
