// Checks the small XML reader on STS-shaped documents, entity handling and malformed input.
import { describe, expect, it } from 'vitest';
import { XmlParseError, parseXml, unescapeXml, xmlText } from './xml.js';

describe('xml reader', () => {
  it('reads nested elements, ignoring the declaration, namespaces, attributes and comments', () => {
    const doc = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<a:Root xmlns:a="urn:x" attr="1 > 0"><!-- note --><Child>one</Child><a:Other><Leaf>two</Leaf></a:Other><Empty/></a:Root>',
    );
    expect(doc.name).toBe('Root');
    expect(xmlText(doc, 'Child')).toBe('one');
    expect(xmlText(doc, 'Other', 'Leaf')).toBe('two');
    expect(xmlText(doc, 'Empty')).toBe('');
    expect(xmlText(doc, 'Missing')).toBeUndefined();
  });

  it('decodes predefined entities, numeric references and CDATA exactly once', () => {
    expect(unescapeXml('a &lt;b&gt; &amp;amp; &quot;q&quot; &apos;s&apos; &#65;&#x42;&#x1F600;')).toBe(`a <b> &amp; "q" 's' AB😀`);
    const doc = parseXml('<R><T>x&amp;y</T><C><![CDATA[<raw & kept>]]></C></R>');
    expect(xmlText(doc, 'T')).toBe('x&y');
    expect(xmlText(doc, 'C')).toBe('<raw & kept>');
  });

  it('rejects unknown entities, bare ampersands, bad references and DOCTYPE', () => {
    expect(() => unescapeXml('&nbsp;')).toThrow(XmlParseError);
    expect(() => unescapeXml('a & b')).toThrow(XmlParseError);
    expect(() => unescapeXml('&#0;')).toThrow(XmlParseError);
    expect(() => unescapeXml('&#xD800;')).toThrow(XmlParseError);
    expect(() => parseXml('<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>')).toThrow(XmlParseError);
  });

  it('rejects mismatched, unclosed and multiple roots', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow(XmlParseError);
    expect(() => parseXml('<a><b></b>')).toThrow(XmlParseError);
    expect(() => parseXml('<a/><b/>')).toThrow(XmlParseError);
    expect(() => parseXml('text')).toThrow(XmlParseError);
    expect(() => parseXml('')).toThrow(XmlParseError);
  });
});
