import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvField } from '../../src/audit/evidence.js';

/** A tiny RFC 4180 reader, to check that every field we write reads back. */
function readField(text: string): string {
  if (!text.startsWith('"')) return text;
  return text.slice(1, -1).replace(/""/g, '"');
}

describe('audit export CSV fields', () => {
  it('quotes what needs quoting and neutralises formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("http://evil","x")')).toBe('"\'=HYPERLINK(""http://evil"",""x"")"');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(null)).toBe('');
  });

  it('every value reads back as itself (or with the formula guard), never splitting a row (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (value) => {
        const field = csvField(value);
        const read = readField(field);
        expect(read === value || read === `'${value}`).toBe(true);
        if (/[,"\r\n]/.test(read)) expect(field.startsWith('"')).toBe(true);
        expect(/^[=+\-@\t\r]/.test(read)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
