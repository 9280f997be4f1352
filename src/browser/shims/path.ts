/** POSIX `node:path` for the browser bundle: the miner's state lives in an in-memory file system with `/` paths. */
export const sep = '/';
export const delimiter = ':';

function normalizeParts(parts: string[], absolute: boolean): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
    } else out.push(p);
  }
  return out;
}

export function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}

export function normalize(p: string): string {
  const abs = isAbsolute(p);
  const joined = normalizeParts(p.split('/'), abs).join('/');
  return (abs ? '/' : '') + (joined === '' && !abs ? '.' : joined);
}

export function join(...parts: string[]): string {
  const nonEmpty = parts.filter((x) => x !== '');
  return nonEmpty.length === 0 ? '.' : normalize(nonEmpty.join('/'));
}

export function resolve(...parts: string[]): string {
  let path = '';
  for (let i = parts.length - 1; i >= 0 && !isAbsolute(path); i--) path = parts[i] + (path === '' ? '' : '/' + path);
  return normalize(isAbsolute(path) ? path : '/' + path);
}

/** As Node's: the path up to its last separator (trailing separators ignored), not normalized. */
export function dirname(p: string): string {
  if (p.length === 0) return '.';
  let end = -1;
  let trailing = true;
  for (let i = p.length - 1; i >= 1; i--) {
    if (p[i] === '/') {
      if (!trailing) {
        end = i;
        break;
      }
    } else trailing = false;
  }
  if (end === -1) return p[0] === '/' ? '/' : '.';
  return p.slice(0, end);
}

export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext !== undefined && b.endsWith(ext) && b !== ext ? b.slice(0, -ext.length) : b;
}

export function extname(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i <= 0 || b === '..' ? '' : b.slice(i);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

export const posix = { sep, delimiter, isAbsolute, normalize, join, resolve, dirname, basename, extname, relative };
export default posix;
