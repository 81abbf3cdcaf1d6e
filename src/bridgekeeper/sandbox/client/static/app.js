// bridgekeeper sandbox: the page's behaviour. Every piece of text from the server is untrusted
// (alert titles, people's messages): it only ever reaches the page through textContent or
// attribute setters, never as HTML.
"use strict";

const state = { me: "", channel: "", version: 0, data: null, poll: null, modalKey: "" };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// -- talking to the server ---------------------------------------------------------------------

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

function say(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function poll() {
  const controller = new AbortController();
  state.poll = controller;
  const me = state.me;
  while (!controller.signal.aborted) {
    try {
      const url = `/api/state?user=${encodeURIComponent(me)}&since=${state.version}`;
      const response = await fetch(url, { signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const answer = await response.json();
      if (controller.signal.aborted) return;
      state.version = answer.version;
      if (!answer.unchanged) { state.data = answer; render(); }
    } catch (error) {
      if (controller.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function restartPoll() {
  if (state.poll) state.poll.abort();
  state.version = 0;
  poll();
}

// -- rendering the workspace ------------------------------------------------------------------

// What each list item was drawn from. An item drawn from the same data stays in the page as it
// is, so a click or a text selection in progress survives the next update.
const drawnFrom = new WeakMap();

// Redraws a list from [key, draw] pairs: items are matched by key, the ones no longer wanted
// are removed first, and only new or changed ones are drawn. An item added or removed leaves
// the others where they are (only an item whose place in the order changed is moved).
function redraw(list, items) {
  const wanted = new Set(items.map(([key]) => key));
  const kept = new Map();
  for (const child of [...list.children]) {
    const key = drawnFrom.get(child);
    if (wanted.has(key) && !kept.has(key)) kept.set(key, child);
    else child.remove();
  }
  items.forEach(([key, draw], index) => {
    let node = kept.get(key);
    kept.delete(key);
    if (!node) {
      node = draw();
      drawnFrom.set(node, key);
    }
    if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
  });
}

// What an item is drawn from: the data, whose view, and the names its mentions show now (a
// private channel's name appears once the viewer is in it). Anything that looks like a Slack id
// is looked up: an id no name is known for reads the same until one is.
function keyOf(value) {
  const json = JSON.stringify([state.me, value]);
  const ids = [...new Set(json.match(/\b[CDGUW][A-Z0-9]{2,}\b/g) || [])];
  const { users, channel_names: channels } = state.data;
  return json + JSON.stringify(ids.map((id) => users[id] ?? channels[id] ?? ""));
}

// The app's Home tab, listed first as Slack lists the app under its own name.
const HOME = { id: "home", name: "Home", kind: "home", archived: false };

function render() {
  const data = state.data;
  const channels = [HOME, ...data.channels];
  if (!channels.some((c) => c.id === state.channel)) state.channel = data.channels[0]?.id || "";
  renderChannels(channels);
  if (state.channel === HOME.id) renderHome(data.home);
  else renderChannel(data.channels.find((c) => c.id === state.channel));
  renderModal(data.modal);
}

function channelLabel(channel) {
  if (channel.kind === "home") return "bridgekeeper: Home";
  if (channel.kind === "im") return `@${channel.name === state.me ? "bridgekeeper" : channel.name}`;
  return `${channel.kind === "private" ? "○" : "#"} ${channel.name}`;
}

function renderChannels(channels) {
  const list = $("channels");
  const focused = document.activeElement?.dataset?.channel;
  redraw(list, channels.map((channel) => [JSON.stringify([channel.id, channel.kind, channelLabel(channel), channel.archived]), () => {
    const button = el("button", {
      type: "button", "data-channel": channel.id, className: channel.archived ? "archived" : "",
      onclick: () => selectChannel(channel.id),
    }, [channelLabel(channel)]);
    if (channel.kind === "private") button.append(el("span", { className: "tag", text: " (private)" }));
    if (channel.archived) button.append(el("span", { className: "visually-hidden", text: " (archived)" }));
    return el("li", {}, [button]);
  }]));
  for (const button of list.querySelectorAll("button")) button.setAttribute("aria-current", String(button.dataset.channel === state.channel));
  if (focused && !list.contains(document.activeElement)) list.querySelector(`[data-channel="${CSS.escape(focused)}"]`)?.focus();
}

function selectChannel(id) {
  state.channel = id;
  render();
  if (id !== HOME.id) { $("composer-text").focus(); return; }
  post("/api/home", { user: state.me }).catch((error) => say(`The Home tab failed: ${error.message}`, true));
}

function renderHome(home) {
  $("channel-name").textContent = channelLabel(HOME);
  $("channel-topic").textContent = "";
  $("join").hidden = true;
  $("composer").hidden = true;
  redraw($("messages"), [[keyOf(["home", home]), () => {
    const body = el("div", { className: "body" });
    if (home) renderBlocks(home.blocks, body, { view_id: home.id });
    else body.textContent = "bridgekeeper has not published a Home tab for you yet.";
    return el("li", { className: "message" }, [body]);
  }]]);
  $("messages").dataset.channel = HOME.id;
}

function renderChannel(channel) {
  const messages = $("messages");
  if (!channel) {
    $("channel-name").textContent = "No channel";
    $("channel-topic").textContent = "";
    messages.replaceChildren();
    return;
  }
  $("channel-name").textContent = channelLabel(channel) + (channel.archived ? " (archived)" : "");
  $("channel-topic").textContent = channel.topic ? `Topic: ${channel.topic}` : "";
  $("join").hidden = channel.member || channel.kind !== "public" || channel.archived;
  $("composer-label").textContent = `Message ${channelLabel(channel)}`;
  $("composer").hidden = false;
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  const previous = messages.dataset.channel;
  const focused = focusedButton(messages);
  redraw(messages, channel.messages.map((m) => [keyOf([channel.id, m]), () => renderMessage(m, channel)]));
  messages.dataset.channel = channel.id;
  if (atBottom || previous !== channel.id) messages.scrollTop = messages.scrollHeight;
  if (focused && !messages.contains(document.activeElement)) messages.querySelector(`li[data-ts="${CSS.escape(focused.ts)}"]`)?.querySelectorAll("button")[focused.index]?.focus();
}

// Which message button has the keyboard focus, to give it back after the list is redrawn.
function focusedButton(messages) {
  const item = document.activeElement?.closest?.("li[data-ts]");
  if (!item || !messages.contains(item)) return null;
  return { ts: item.dataset.ts, index: [...item.querySelectorAll("button")].indexOf(document.activeElement) };
}

function renderMessage(message, channel) {
  const time = new Date(parseFloat(message.ts) * 1000);
  const meta = el("div", { className: "meta" }, [
    el("span", { className: "author", text: message.author }),
    el("time", { className: "time", datetime: time.toISOString(), text: time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) }),
  ]);
  if (message.ephemeral) meta.append(el("span", { className: "badge", text: "Only visible to you" }));
  if (message.pinned) meta.append(el("span", { className: "badge", text: "Pinned" }));
  if (message.edited) meta.append(el("span", { className: "badge", text: "edited" }));
  if (message.in_thread) meta.append(el("span", { className: "badge", text: "reply in thread" }));
  const where = { channel: channel.id, ts: message.ephemeral ? null : message.ts };
  const body = el("div", { className: "body" });
  if (message.blocks.length) renderBlocks(message.blocks, body, where);
  else renderMrkdwnBlock(message.text, body);
  for (const file of message.files) body.append(renderFile(file));
  const reactions = Object.entries(message.reactions).map(([name, count]) => `${emojify(`:${name}:`)} ${count}`);
  if (reactions.length) body.append(el("div", { className: "context", text: reactions.join("  ") }));
  const classes = ["message", message.ephemeral && "ephemeral", message.pinned && "pinned", message.in_thread && "in-thread"];
  return el("li", { className: classes.filter(Boolean).join(" "), "data-ts": message.ts }, [meta, body]);
}

function renderFile(file) {
  const href = `/files/${encodeURIComponent(file.id)}?user=${encodeURIComponent(state.me)}`;
  return el("div", {}, [el("a", { className: "file", href, target: "_blank", rel: "noopener noreferrer", text: `File: ${file.title || file.name}` })]);
}

// -- Block Kit ----------------------------------------------------------------------------------

function renderBlocks(blocks, parent, where) {
  for (const block of blocks) {
    const render = BLOCKS[block.type];
    if (render) parent.append(render(block, where));
  }
}

const BLOCKS = {
  section(block, where) {
    const node = el("div", { className: "block section" });
    if (block.text) node.append(textObject(block.text));
    if (block.fields) node.append(el("div", { className: "fields" }, block.fields.map((f) => textObject(f))));
    const accessory = block.accessory && element(block.accessory, block, where);
    if (accessory) node.append(accessory);
    return node;
  },
  header: (block) => el("h3", { text: emojify(block.text?.text || "") }),
  divider: () => el("hr"),
  context: (block) => el("div", { className: "block context" }, (block.elements || []).map((e) =>
    e.type === "image" ? el("span", { className: "image-alt", text: `[${e.alt_text || "image"}] ` }) : textObject(e, "span"))),
  actions: (block, where) => el("div", { className: "actions" }, (block.elements || []).map((e) => element(e, block, where))),
  image: (block) => el("div", { className: "image-alt", text: `[image: ${block.alt_text || block.title?.text || ""}]` }),
  markdown: (block) => { const node = el("div", { className: "block" }); renderMrkdwn(block.text || "", node); return node; },
  rich_text: (block) => el("div", { className: "block", text: richText(block) }),
  input: (block) => inputBlock(block),
};

function richText(node) {
  if (Array.isArray(node)) return node.map(richText).join("");
  if (!node || typeof node !== "object") return "";
  if (typeof node.text === "string") return node.text;
  if (node.type === "user") return `@${state.data.users[node.user_id] || node.user_id}`;
  return richText(node.elements || []);
}

function textObject(obj, tag = "div") {
  const node = el(tag, { className: "block" });
  if (obj?.type === "mrkdwn") renderMrkdwnBlock(obj.text || "", node);
  else node.textContent = emojify(obj?.text || "");
  return node;
}

function element(e, block, where) {
  if (e.type === "button") {
    const button = el("button", { type: "button", className: e.style || "", text: e.text?.text || "" });
    button.addEventListener("click", () => click(button, e, block, where));
    return button;
  }
  if (e.type === "image") return el("span", { className: "image-alt", text: `[${e.alt_text || "image"}]` });
  return null;
}

async function click(button, e, block, where) {
  button.disabled = true;
  try {
    await post("/api/action", {
      user: state.me, action_id: e.action_id, value: e.value || "", block_id: block.block_id || "",
      ...where,
    });
    if (e.url && /^https?:\/\//.test(e.url)) window.open(e.url, "_blank", "noopener,noreferrer");
  } catch (error) {
    say(`The click failed: ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// -- composer, people, alerts ------------------------------------------------------------------

async function send(event) {
  event.preventDefault();
  const input = $("composer-text");
  const text = input.value.trim();
  if (!text || !state.channel) return;
  const path = text.startsWith("/") ? "/api/command" : "/api/message";
  try {
    await post(path, { user: state.me, channel: state.channel, text });
    input.value = "";
    say("");
  } catch (error) {
    say(error.message, true);
  }
}

async function join() {
  try {
    await post("/api/join", { user: state.me, channel: state.channel });
  } catch (error) {
    say(`Could not join: ${error.message}`, true);
  }
}

async function sendAlert(event) {
  event.preventDefault();
  const select = $("alert-source");
  const name = select.selectedOptions[0].textContent;
  $("send-alert").disabled = true;
  try {
    const answer = await post("/api/alert", { source: select.value });
    say(`${name} example sent: bridgekeeper answered HTTP ${answer.status}`);
  } catch (error) {
    say(`The alert could not be sent: ${error.message}`, true);
  } finally {
    $("send-alert").disabled = false;
  }
}

function switchUser() {
  state.me = $("user").value;
  state.modalKey = "";
  restartPoll();
  if (state.channel === HOME.id) selectChannel(HOME.id);
}

document.addEventListener("DOMContentLoaded", () => {
  $("composer").addEventListener("submit", send);
  $("alert-form").addEventListener("submit", sendAlert);
  $("user").addEventListener("change", switchUser);
  $("join").addEventListener("click", join);
  $("modal-form").addEventListener("submit", submitModal);
  $("modal-close").addEventListener("click", closeModal);
  $("modal").addEventListener("cancel", closeModal);
  state.me = $("user").value;
  poll();
});
