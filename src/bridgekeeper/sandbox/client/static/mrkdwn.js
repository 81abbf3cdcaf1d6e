// bridgekeeper sandbox: Slack's mrkdwn rendered as DOM nodes (bold, italic, strike, code,
// quotes, links and mentions). Loaded before app.js, whose `el` and `state` it uses. Text only
// ever reaches the page through textContent or attribute setters, never as HTML.

const MRKDWN = /```([\s\S]+?)```|`([^`\n]+)`|<([^<>\n]+)>|(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])|(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])|(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])/g;

function unescape(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// Lines starting with ">" (escaped by Slack as "&gt;") are quoted, the rest is inline mrkdwn.
function renderMrkdwnBlock(text, parent) {
  if (text.includes("```")) { renderMrkdwn(text, parent); return; }
  let quote = null;
  text.split("\n").forEach((line, index) => {
    const quoted = /^(&gt;|>) ?/.exec(line);
    if (quoted) {
      if (!quote) { quote = el("blockquote"); parent.append(quote); }
      else quote.append("\n");
      renderMrkdwn(line.slice(quoted[0].length), quote);
      return;
    }
    if (index > 0 && !quote) parent.append("\n");
    quote = null;
    renderMrkdwn(line, parent);
  });
}

function renderMrkdwn(text, parent) {
  let last = 0;
  for (const match of text.matchAll(MRKDWN)) {
    parent.append(unescape(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const [, pre, code, angle, bold, italic, strike] = match;
    if (pre !== undefined) parent.append(el("pre", { text: unescape(pre) }));
    else if (code !== undefined) parent.append(el("code", { text: unescape(code) }));
    else if (angle !== undefined) parent.append(special(angle));
    else {
      const node = el(bold !== undefined ? "strong" : italic !== undefined ? "em" : "s");
      renderMrkdwn(bold ?? italic ?? strike, node);
      parent.append(node);
    }
  }
  parent.append(unescape(text.slice(last)));
}

function special(inner) {
  const [target, ...rest] = inner.split("|");
  const label = rest.length ? unescape(rest.join("|")) : "";
  const users = state.data.users, channels = state.data.channel_names;
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return el("span", { className: "mention", text: `@${users[id] || label || id}` });
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return el("span", { className: "mention", text: `#${channels[id] || label || "private-channel"}` });
  }
  if (target.startsWith("!subteam^")) return el("span", { className: "mention", text: label || "@group" });
  if (target.startsWith("!date^")) return label || target;
  if (target.startsWith("!")) return el("span", { className: "mention", text: `@${target.slice(1)}` });
  const url = unescape(target);
  if (/^(https?:|mailto:)/i.test(url)) {
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: label || url });
  }
  return unescape(inner);
}
