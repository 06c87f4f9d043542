import { sanitizeMailHtml as sut } from './html-sanitizer.js';

describe('sanitizeMailHtml', () => {
  it('removes scripts with their content', () => {
    expect(sut('<p>hi</p><script>alert(1)</script><SCRIPT src="https://x.test/a.js"></SCRIPT>')).toBe('<p>hi</p>');
  });

  it('removes event handlers', () => {
    const html = sut('<img src="cid:logo" onerror="alert(1)"><div onclick="x()" onmouseover="y()">t</div>');
    expect(html).not.toMatch(/on(error|click|mouseover)/i);
    expect(html).toContain('<div>t</div>');
  });

  it('drops javascript:, vbscript: and data: links but keeps http(s) and mailto ones, opened safely', () => {
    const html = sut(
      '<a href="javascript:alert(1)">a</a><a href="  JaVaScRiPt:alert(1)">b</a><a href="vbscript:x">c</a>' +
        '<a href="data:text/html,<script>x</script>">d</a><a href="https://example.com/x">e</a><a href="mailto:a@b.test">f</a>',
    );
    expect(html).not.toMatch(/javascript|vbscript|data:/i);
    expect(html).toContain('<a href="https://example.com/x" target="_blank" rel="noopener noreferrer nofollow">e</a>');
    expect(html).toContain('href="mailto:a@b.test"');
  });

  it('blocks remote images (tracking pixels) but keeps cid: and inline data images', () => {
    const html = sut(
      '<img src="https://tracker.test/p.gif" alt="pixel"><img src="//tracker.test/p.gif"><img src="cid:part1@example.com" alt="logo">' +
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
    );
    expect(html).not.toContain('tracker.test');
    expect(html).toContain('<img alt="pixel" />');
    expect(html).toContain('<img alt="logo" src="cid:part1@example.com" />');
    expect(html).toContain('src="data:image/png;base64,iVBORw0KGgo="');
  });

  it('keeps harmless inline CSS but removes url(), expression() and @import', () => {
    const html = sut(
      '<div style="color: red; background: url(https://tracker.test/bg.png); width: expression(alert(1))">x</div>' +
        '<p style="background-image: URL( \'http://t.test/a\' )">y</p><span style="font-weight:bold">z</span>',
    );
    expect(html).toContain('<div style="color:red">x</div>');
    expect(html).toContain('<p>y</p>');
    expect(html).toContain('<span style="font-weight:bold">z</span>');
    expect(html).not.toMatch(/url|expression|tracker/i);
  });

  it('drops style sheets, iframes, objects, forms, meta refreshes and base tags', () => {
    const html = sut(
      '<style>body{background:url(https://t.test/x)}</style><iframe src="https://evil.test"></iframe><object data="x"></object>' +
        '<embed src="x"><form action="https://evil.test"><input name="p"></form><meta http-equiv="refresh" content="0;url=https://evil.test"><base href="https://evil.test/">ok',
    );
    expect(html).toBe('ok');
  });

  it('removes SVG, whose scripts and event handlers live in their own namespace', () => {
    expect(sut('<svg onload="alert(1)"><script>alert(2)</script></svg>text')).toBe('text');
  });

  it('keeps the markup mail is made of', () => {
    const html =
      '<table border="0" cellpadding="2"><tbody><tr><td colspan="2" align="center"><b>Total</b> <i>due</i></td></tr></tbody></table>';
    expect(sut(html)).toBe(html);
  });
});
