// A tiny, safe renderer for message text. It never parses HTML: every piece of text becomes a
// text node, and only the few Markdown features the bot uses become elements:
// **bold**, "- " (and "1. ") lists, line breaks, [label](https://…) links and bare https:// links.
// A link whose URL is not http(s) (javascript:, data:, relative) keeps only its label, as text.

const INLINE =
  /\*\*([^*\n]+?)\*\*|\[([^\]\n]{1,300})\]\(((?:[^\s()]|\([^\s()]*\))+)\)|\b(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"])/g;

/** The URL as a string if it is an absolute http(s) URL, else null (javascript:, data:, …). */
export function safeUrl(raw) {
  try {
    const url = new URL(String(raw));
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** An external link that cannot reach back into the panel (noopener) or leak it (noreferrer). */
export function externalLink(href, label) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = label;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  return a;
}

function appendInline(parent, text) {
  let last = 0;
  // A fresh regex per call: the g-flag's lastIndex must not be shared.
  const pattern = new RegExp(INLINE.source, 'g');
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    if (m[1] !== undefined) {
      const strong = document.createElement('strong');
      strong.textContent = m[1];
      parent.append(strong);
    } else if (m[2] !== undefined) {
      const href = safeUrl(m[3]);
      parent.append(href ? externalLink(href, m[2]) : m[2]);
    } else {
      const href = safeUrl(m[4]);
      parent.append(href ? externalLink(href, m[4]) : m[4]);
    }
    last = pattern.lastIndex;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** Renders `text` into a DocumentFragment of paragraphs and lists. */
export function renderText(text) {
  const fragment = document.createDocumentFragment();
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  let list = null;
  let paragraph = null;
  for (const line of lines) {
    const bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
    const numbered = bullet ? null : /^\s*(\d{1,3})[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      const tag = bullet ? 'UL' : 'OL';
      if (!list || list.tagName !== tag) {
        list = document.createElement(tag);
        if (numbered && numbered[1] !== '1') list.start = Number(numbered[1]);
        fragment.append(list);
      }
      const item = document.createElement('li');
      appendInline(item, bullet ? bullet[1] : numbered[2]);
      list.append(item);
      paragraph = null;
      continue;
    }
    list = null;
    if (!line.trim()) {
      paragraph = null;
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line); // extractive answers may carry a heading
    if (!paragraph) {
      paragraph = document.createElement('p');
      fragment.append(paragraph);
    } else {
      paragraph.append(document.createElement('br'));
    }
    if (heading) {
      const strong = document.createElement('strong');
      strong.textContent = heading[1];
      paragraph.append(strong);
    } else {
      appendInline(paragraph, line);
    }
  }
  return fragment;
}
