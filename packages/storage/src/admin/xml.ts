// A minimal XML reader for the few small documents the STS and S3 error responses return.
// Hand-written on purpose: we read a handful of fields from trusted-shape responses and an XML dependency would be
// larger than the job. It builds a tree, checks that tags nest, ignores namespaces and attributes, refuses DOCTYPE
// (so no custom entities can be declared) and decodes the five predefined entities plus numeric references.

export interface XmlElement {
  /** Local name, without any namespace prefix. */
  name: string;
  children: XmlElement[];
  /** Decoded character data directly inside this element (not its children's). */
  text: string;
}

export class XmlParseError extends Error {
  constructor(message: string) {
    super(`malformed XML: ${message}`);
    this.name = 'XmlParseError';
  }
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes XML character references and the predefined entities; rejects anything else. */
export function unescapeXml(text: string): string {
  return text.replace(/&([^;&\s]*);?/g, (match, body: string) => {
    if (!match.endsWith(';')) throw new XmlParseError('unterminated entity reference');
    const named = NAMED_ENTITIES[body];
    if (named !== undefined) return named;
    const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body);
    if (numeric) {
      const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2] ?? '', 10);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || code === 0) throw new XmlParseError('invalid character reference');
      return String.fromCodePoint(code);
    }
    throw new XmlParseError(`unknown entity &${body};`);
  });
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

/** Parses a document and returns its root element. */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '', children: [], text: '' };
  const stack: XmlElement[] = [root];
  let pos = 0;
  const current = (): XmlElement => stack[stack.length - 1] ?? root;

  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const textEnd = lt === -1 ? xml.length : lt;
    if (textEnd > pos) {
      const raw = xml.slice(pos, textEnd);
      if (stack.length === 1) {
        if (raw.trim() !== '') throw new XmlParseError('text outside the root element');
      } else {
        current().text += unescapeXml(raw);
      }
    }
    if (lt === -1) break;

    if (xml.startsWith('<?', lt)) {
      pos = skipPast(xml, lt, '?>');
    } else if (xml.startsWith('<!--', lt)) {
      pos = skipPast(xml, lt, '-->');
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt);
      if (end === -1 || stack.length === 1) throw new XmlParseError('bad CDATA section');
      current().text += xml.slice(lt + 9, end);
      pos = end + 3;
    } else if (xml.startsWith('<!', lt)) {
      throw new XmlParseError('DOCTYPE and other declarations are not accepted');
    } else if (xml.startsWith('</', lt)) {
      const gt = xml.indexOf('>', lt);
      if (gt === -1) throw new XmlParseError('unterminated end tag');
      const name = localName(xml.slice(lt + 2, gt).trim());
      const open = stack.pop();
      if (!open || stack.length === 0 || open.name !== name) throw new XmlParseError(`unexpected </${name}>`);
      pos = gt + 1;
    } else {
      const gt = findTagEnd(xml, lt);
      const selfClosing = xml[gt - 1] === '/';
      const inner = xml.slice(lt + 1, selfClosing ? gt - 1 : gt);
      const nameMatch = /^[^\s/>]+/.exec(inner);
      if (!nameMatch) throw new XmlParseError('element without a name');
      if (stack.length === 1 && root.children.length > 0) throw new XmlParseError('more than one root element');
      const element: XmlElement = { name: localName(nameMatch[0]), children: [], text: '' };
      current().children.push(element);
      if (!selfClosing) stack.push(element);
      pos = gt + 1;
    }
  }
  if (stack.length !== 1) throw new XmlParseError('unclosed element');
  const documentElement = root.children[0];
  if (!documentElement) throw new XmlParseError('no root element');
  return documentElement;
}

function skipPast(xml: string, from: number, terminator: string): number {
  const end = xml.indexOf(terminator, from);
  if (end === -1) throw new XmlParseError(`missing ${terminator}`);
  return end + terminator.length;
}

/** Finds the `>` closing a start tag, skipping quoted attribute values that may contain `>`. */
function findTagEnd(xml: string, from: number): number {
  let quote: string | undefined;
  for (let i = from + 1; i < xml.length; i++) {
    const c = xml[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return i;
    }
  }
  throw new XmlParseError('unterminated start tag');
}

/** Follows child names from `element`; returns the element at the end of the path, if every step exists. */
export function xmlChild(element: XmlElement, ...path: string[]): XmlElement | undefined {
  let at: XmlElement | undefined = element;
  for (const name of path) {
    at = at.children.find((c) => c.name === name);
    if (!at) return undefined;
  }
  return at;
}

/** Text of the element at `path` below `element`, trimmed of surrounding whitespace. */
export function xmlText(element: XmlElement, ...path: string[]): string | undefined {
  return xmlChild(element, ...path)?.text.trim();
}
