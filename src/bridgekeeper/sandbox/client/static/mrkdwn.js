// bridgekeeper sandbox: Slack's mrkdwn rendered as DOM nodes (bold, italic, strike, code,
// quotes, links and mentions). Loaded before app.js, whose `el` and `state` it uses. Text only
// ever reaches the page through textContent or attribute setters, never as HTML.

const MRKDWN = /```([\s\S]+?)```|`([^`\n]+)`|<([^<>\n]+)>|(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])|(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])|(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])/g;

// The emoji bridgekeeper's messages use, by Slack's names (Slack shows the rest as typed too,
// until a workspace adds them). tests/sandbox checks every name in messages/ is here.
const EMOJI = {
  alarm_clock: "\u23f0", arrow_right: "\u27a1\ufe0f", arrows_counterclockwise: "\u{1f504}",
  ballot_box_with_check: "\u2611\ufe0f", bar_chart: "\u{1f4ca}", bell: "\u{1f514}",
  bust_in_silhouette: "\u{1f464}", dart: "\u{1f3af}", file_cabinet: "\u{1f5c4}\ufe0f",
  handshake: "\u{1f91d}", hourglass_flowing_sand: "\u23f3", incoming_envelope: "\u{1f4e8}",
  large_green_circle: "\u{1f7e2}", leftwards_arrow_with_hook: "\u21a9\ufe0f", link: "\u{1f517}",
  lock: "\u{1f512}", mag: "\u{1f50d}", mega: "\u{1f4e3}", memo: "\u{1f4dd}",
  no_entry_sign: "\u{1f6ab}", outbox_tray: "\u{1f4e4}", pager: "\u{1f4df}", pencil2: "\u270f\ufe0f",
  pushpin: "\u{1f4cc}", rotating_light: "\u{1f6a8}", spiral_calendar_pad: "\u{1f5d3}\ufe0f",
  stopwatch: "\u23f1\ufe0f", warning: "\u26a0\ufe0f", white_check_mark: "\u2705",
  white_square: "\u2b1c", x: "\u274c", zzz: "\u{1f4a4}", eyes: "\u{1f440}", "+1": "\u{1f44d}",
};

function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (code, name) => EMOJI[name] || code);
}

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
    parent.append(emojify(unescape(text.slice(last, match.index))));
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
  parent.append(emojify(unescape(text.slice(last))));
}

function special(inner) {
  const [target, ...rest] = inner.split("|");
  const label = rest.length ? emojify(unescape(rest.join("|"))) : "";
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
