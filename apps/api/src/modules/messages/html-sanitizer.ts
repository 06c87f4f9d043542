import sanitizeHtml from 'sanitize-html';

/**
 * Whether a URL may stay in displayed mail: `cid:` parts of the message itself and inline
 * `data:` images load nothing from the network; anything else would let a sender run code or
 * learn when and where the mail was opened.
 */
const isLocalResource = (url: string): boolean => /^\s*(cid:|data:image\/)/iu.test(url);

/** CSS that loads something or runs something: url(), image-set(), @import, legacy expression() and behaviour bindings. */
const DANGEROUS_CSS = /url\s*\(|image-set\s*\(|expression\s*\(|@import|behavior\s*:|-moz-binding|javascript:/iu;

function sanitizeStyle(style: string): string {
  // Escapes could spell url( in a way the test below misses, so a declaration using them goes entirely.
  return style
    .split(';')
    .map((declaration) => declaration.trim())
    .filter((declaration) => declaration !== '' && !DANGEROUS_CSS.test(declaration) && !declaration.includes('\\'))
    .join('; ');
}

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    ...sanitizeHtml.defaults.allowedTags,
    'img',
    'font',
    'center',
    'del',
    'ins',
    'small',
    'big',
    'u',
    's',
    'strike',
    'sup',
    'sub',
  ],
  // Whole elements whose content must not survive as text either.
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'title',
    'head',
    'iframe',
    'object',
    'embed',
    'svg',
    'math',
  ],
  allowedAttributes: {
    '*': ['style', 'class', 'dir', 'lang', 'title', 'align', 'valign', 'width', 'height', 'bgcolor', 'color'],
    a: ['href', 'name', 'target', 'rel'],
    img: ['src', 'alt', 'width', 'height', 'border'],
    font: ['face', 'size', 'color'],
    table: ['border', 'cellpadding', 'cellspacing', 'summary'],
    td: ['colspan', 'rowspan', 'nowrap'],
    th: ['colspan', 'rowspan', 'nowrap', 'scope'],
    ol: ['start', 'type'],
    li: ['value'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['cid', 'data'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  // Unknown elements keep their text; dropped elements (script and the like) lose it, see nonTextTags.
  disallowedTagsMode: 'discard',
  // One function for every element: sanitize-html applies either the element's own transform or '*', never both.
  transformTags: {
    '*': (tagName, attribs) => {
      const { style, ...rest } = attribs;
      const cleanedStyle = style === undefined ? '' : sanitizeStyle(style);
      const kept: sanitizeHtml.Attributes = cleanedStyle === '' ? rest : { ...rest, style: cleanedStyle };
      if (tagName === 'a')
        return { tagName, attribs: { ...kept, target: '_blank', rel: 'noopener noreferrer nofollow' } };
      if (tagName === 'img') {
        const { src, ...withoutSource } = kept;
        return {
          tagName,
          attribs: src !== undefined && isLocalResource(src) ? { ...withoutSource, src } : withoutSource,
        };
      }
      return { tagName, attribs: kept };
    },
  },
};

/** HTML of a received message, safe to put into a page: the sender's markup minus anything active or remote. */
export function sanitizeMailHtml(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}
