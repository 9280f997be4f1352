/**
 * IFEval's verifiable instructions (Zhou et al. 2023, google-research instruction_following_eval
 * instructions.py), ported check by check with the same regular expressions and relation semantics
 * ("less than": actual < N, "at least": actual >= N). Differences, where Python libraries are involved:
 * english_lowercase / english_capital do not run langdetect (the case test only); capital_word_frequency
 * splits words on whitespace instead of nltk.word_tokenize; Python's Unicode `\w`/`\b` are written with
 * \p{L}\p{N}_ classes. language:response_language (langdetect) is known but not checkable here.
 */

export type Relation = 'less than' | 'at least';
type KwargType = 'int' | 'string' | 'strings' | 'relation' | 'letter';
export type InstructionKwargs = Readonly<Record<string, number | string | readonly string[]>>;

export interface InstructionSpec {
  readonly kwargs: Readonly<Record<string, KwargType>>;
  /** null: a known IFEval instruction this port cannot check */
  readonly check: ((response: string, k: InstructionKwargs) => boolean) | null;
}

const WORD = /[\p{L}\p{N}_]+/gu;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const relate = (actual: number, relation: Relation, n: number): boolean => (relation === 'less than' ? actual < n : actual >= n);
const int = (k: InstructionKwargs, key: string): number => k[key] as number;
const str = (k: InstructionKwargs, key: string): string => k[key] as string;
const rel = (k: InstructionKwargs, key: string): Relation => k[key] as Relation;

export function countWords(text: string): number {
  return (text.match(WORD) ?? []).length;
}

const ALPHA = '([A-Za-z])';
const PREFIXES = /(Mr|St|Mrs|Ms|Dr)[.]/g;
const SUFFIXES = '(Inc|Ltd|Jr|Sr|Co)';
const STARTERS = '(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\\s|She\\s|It\\s|They\\s|Their\\s|Our\\s|We\\s|But\\s|However\\s|That\\s|This\\s|Wherever)';
const ACRONYMS = '([A-Z][.][A-Z][.](?:[A-Z][.])?)';

/** IFEval's instructions_util.split_into_sentences. */
export function splitSentences(input: string): string[] {
  let t = ` ${input}  `.replace(/\n/g, ' ');
  t = t.replace(PREFIXES, '$1<prd>');
  t = t.replace(/[.](com|net|org|io|gov|edu|me)/g, '<prd>$1');
  t = t.replace(/([0-9])[.]([0-9])/g, '$1<prd>$2');
  t = t.replace(/\.{2,}/g, (m) => '<prd>'.repeat(m.length) + '<stop>');
  if (t.includes('Ph.D')) t = t.replaceAll('Ph.D.', 'Ph<prd>D<prd>');
  t = t.replace(new RegExp(`\\s${ALPHA}[.] `, 'g'), ' $1<prd> ');
  t = t.replace(new RegExp(`${ACRONYMS} ${STARTERS}`, 'g'), '$1<stop> $2');
  t = t.replace(new RegExp(`${ALPHA}[.]${ALPHA}[.]${ALPHA}[.]`, 'g'), '$1<prd>$2<prd>$3<prd>');
  t = t.replace(new RegExp(`${ALPHA}[.]${ALPHA}[.]`, 'g'), '$1<prd>$2<prd>');
  t = t.replace(new RegExp(` ${SUFFIXES}[.] ${STARTERS}`, 'g'), ' $1<stop> $2');
  t = t.replace(new RegExp(` ${SUFFIXES}[.]`, 'g'), ' $1<prd>');
  t = t.replace(new RegExp(` ${ALPHA}[.]`, 'g'), ' $1<prd>');
  t = t.replaceAll('.\u201d', '\u201d.').replaceAll('."', '".').replaceAll('!"', '"!').replaceAll('?"', '"?');
  t = t.replaceAll('.', '.<stop>').replaceAll('?', '?<stop>').replaceAll('!', '!<stop>').replaceAll('<prd>', '.');
  const sentences = t.split('<stop>').map((s) => s.trim());
  if (sentences.length > 0 && sentences[sentences.length - 1] === '') sentences.pop();
  return sentences;
}

/** Python str.islower / str.isupper: at least one cased character, and all of them in that case. */
const isLower = (s: string): boolean => s === s.toLowerCase() && s !== s.toUpperCase();
const isUpper = (s: string): boolean => s === s.toUpperCase() && s !== s.toLowerCase();

/** Python's str.strip(chars) for a set of characters. */
function stripChars(s: string, chars: string): string {
  let a = 0, b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

function paragraphsFollow(response: string, n: number): boolean {
  const paragraphs = response.split(/\s?\*\*\*\s?/);
  let count = paragraphs.length;
  for (let i = 0; i < paragraphs.length; i++) {
    if (paragraphs[i].trim() !== '') continue;
    if (i === 0 || i === paragraphs.length - 1) count--;
    else return false;
  }
  return count === n;
}

function nthParagraphFirstWord(response: string, k: InstructionKwargs): boolean {
  const paragraphs = response.split(/\n\n/);
  const count = paragraphs.filter((p) => p.trim() !== '').length;
  const nth = int(k, 'nth_paragraph');
  if (nth > count) return false;
  const paragraph = paragraphs[nth - 1].trim();
  if (paragraph === '') return false;
  const word = paragraph.split(/\s+/)[0].trim().replace(/^'+/, '').replace(/^"+/, '');
  let first = '';
  for (const ch of word) {
    if ('.,?!\'"'.includes(ch)) break;
    first += ch.toLowerCase();
  }
  return count === int(k, 'num_paragraphs') && first === str(k, 'first_word').toLowerCase();
}

function highlights(response: string): number {
  let n = 0;
  for (const h of response.match(/\*[^\n*]*\*/g) ?? []) if (stripChars(h, '*').trim() !== '') n++;
  for (const h of response.match(/\*\*[^\n*]*\*\*/g) ?? []) if (h.slice(2, -2).trim() !== '') n++;
  return n;
}

function postscript(response: string, marker: string): boolean {
  const value = response.toLowerCase();
  const pattern = marker === 'P.P.S' ? /\s*p\.\s?p\.\s?s.*$/m : marker === 'P.S.' ? /\s*p\.\s?s\..*$/m : new RegExp(`\\s*${escape(marker.toLowerCase())}.*$`, 'm');
  return pattern.test(value);
}

function isJson(response: string): boolean {
  let v = response.trim();
  for (const p of ['```json', '```Json', '```JSON', '```']) if (v.startsWith(p)) v = v.slice(p.length);
  if (v.endsWith('```')) v = v.slice(0, -3);
  try {
    JSON.parse(v.trim());
    return true;
  } catch {
    return false;
  }
}

function twoResponses(response: string): boolean {
  const parts = response.split('******');
  const valid: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].trim() === '') {
      if (i !== 0 && i !== parts.length - 1) return false;
    } else valid.push(parts[i]);
  }
  return valid.length === 2 && valid[0].trim() !== valid[1].trim();
}

const CONSTRAINED = ['My answer is yes.', 'My answer is no.', 'My answer is maybe.'];

export const INSTRUCTIONS: Readonly<Record<string, InstructionSpec>> = {
  'keywords:existence': {
    kwargs: { keywords: 'strings' },
    check: (r, k) => (k.keywords as readonly string[]).every((w) => new RegExp(escape(w), 'i').test(r)),
  },
  'keywords:frequency': {
    kwargs: { keyword: 'string', frequency: 'int', relation: 'relation' },
    check: (r, k) => relate((r.match(new RegExp(escape(str(k, 'keyword')), 'gi')) ?? []).length, rel(k, 'relation'), int(k, 'frequency')),
  },
  'keywords:forbidden_words': {
    kwargs: { forbidden_words: 'strings' },
    check: (r, k) => !(k.forbidden_words as readonly string[]).some((w) => new RegExp(`(?<![\\p{L}\\p{N}_])${escape(w)}(?![\\p{L}\\p{N}_])`, 'iu').test(r)),
  },
  'keywords:letter_frequency': {
    kwargs: { letter: 'letter', let_frequency: 'int', let_relation: 'relation' },
    check: (r, k) => relate([...r.toLowerCase()].filter((c) => c === str(k, 'letter').toLowerCase()).length, rel(k, 'let_relation'), int(k, 'let_frequency')),
  },
  'language:response_language': { kwargs: { language: 'string' }, check: null },
  'length_constraints:number_sentences': {
    kwargs: { num_sentences: 'int', relation: 'relation' },
    check: (r, k) => relate(splitSentences(r).length, rel(k, 'relation'), int(k, 'num_sentences')),
  },
  'length_constraints:number_paragraphs': { kwargs: { num_paragraphs: 'int' }, check: (r, k) => paragraphsFollow(r, int(k, 'num_paragraphs')) },
  'length_constraints:number_words': {
    kwargs: { num_words: 'int', relation: 'relation' },
    check: (r, k) => relate(countWords(r), rel(k, 'relation'), int(k, 'num_words')),
  },
  'length_constraints:nth_paragraph_first_word': {
    kwargs: { num_paragraphs: 'int', nth_paragraph: 'int', first_word: 'string' },
    check: nthParagraphFirstWord,
  },
  'detectable_content:number_placeholders': {
    kwargs: { num_placeholders: 'int' },
    check: (r, k) => (r.match(/\[.*?\]/g) ?? []).length >= int(k, 'num_placeholders'),
  },
  'detectable_content:postscript': { kwargs: { postscript_marker: 'string' }, check: (r, k) => postscript(r, str(k, 'postscript_marker')) },
  'detectable_format:number_bullet_lists': {
    kwargs: { num_bullets: 'int' },
    check: (r, k) => (r.match(/^\s*\*[^*].*$/gm) ?? []).length + (r.match(/^\s*-.*$/gm) ?? []).length === int(k, 'num_bullets'),
  },
  'detectable_format:constrained_response': { kwargs: {}, check: (r) => CONSTRAINED.some((c) => r.trim().includes(c)) },
  'detectable_format:number_highlighted_sections': { kwargs: { num_highlights: 'int' }, check: (r, k) => highlights(r) >= int(k, 'num_highlights') },
  'detectable_format:multiple_sections': {
    kwargs: { section_spliter: 'string', num_sections: 'int' },
    check: (r, k) => r.split(new RegExp(`\\s?${escape(str(k, 'section_spliter'))}\\s?\\d+\\s?`)).length - 1 >= int(k, 'num_sections'),
  },
  'detectable_format:json_format': { kwargs: {}, check: isJson },
  'detectable_format:title': {
    kwargs: {},
    check: (r) => (r.match(/<<[^\n]+>>/g) ?? []).some((t) => t.replace(/^<+/, '').replace(/>+$/, '').trim() !== ''),
  },
  'combination:two_responses': { kwargs: {}, check: twoResponses },
  'combination:repeat_prompt': {
    kwargs: { prompt_to_repeat: 'string' },
    check: (r, k) => r.trim().toLowerCase().startsWith(str(k, 'prompt_to_repeat').trim().toLowerCase()),
  },
  'startend:end_checker': {
    kwargs: { end_phrase: 'string' },
    check: (r, k) => stripChars(r.trim(), '"').toLowerCase().endsWith(str(k, 'end_phrase').trim().toLowerCase()),
  },
  'startend:quotation': {
    kwargs: {},
    check: (r) => {
      const v = r.trim();
      return v.length > 1 && v[0] === '"' && v[v.length - 1] === '"';
    },
  },
  'change_case:capital_word_frequency': {
    kwargs: { capital_frequency: 'int', capital_relation: 'relation' },
    check: (r, k) => relate(r.split(/\s+/).filter(isUpper).length, rel(k, 'capital_relation'), int(k, 'capital_frequency')),
  },
  'change_case:english_capital': { kwargs: {}, check: isUpper },
  'change_case:english_lowercase': { kwargs: {}, check: isLower },
  'punctuation:no_comma': { kwargs: {}, check: (r) => !r.includes(',') },
};

/** Why a kwarg value does not fit its type, or null. */
export function kwargProblem(type: KwargType, v: unknown): string | null {
  switch (type) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? null : `must be a non-negative integer, got ${JSON.stringify(v)}`;
    case 'string':
      return typeof v === 'string' && v.trim() !== '' ? null : `must be a non-empty string, got ${JSON.stringify(v)}`;
    case 'letter':
      return typeof v === 'string' && /^\p{L}$/u.test(v.trim()) ? null : `must be a single letter, got ${JSON.stringify(v)}`;
    case 'strings':
      return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.trim() !== '') ? null : `must be a non-empty list of non-empty strings, got ${JSON.stringify(v)}`;
    case 'relation':
      return v === 'less than' || v === 'at least' ? null : `must be "less than" or "at least", got ${JSON.stringify(v)}`;
  }
}

/** IFEval's loose variants of a response: as is, without its first and/or last line, each also without '*'. */
export function looseVariants(response: string): string[] {
  const lines = response.split('\n');
  const removeFirst = lines.slice(1).join('\n').trim();
  const removeLast = lines.slice(0, -1).join('\n').trim();
  const removeBoth = lines.slice(1, -1).join('\n').trim();
  const noStar = (s: string): string => s.replaceAll('*', '');
  return [response, noStar(response), removeFirst, removeLast, removeBoth, noStar(removeFirst), noStar(removeLast), noStar(removeBoth)];
}
