// bridgekeeper sandbox: modals (views.open and views.update from the app) rendered as forms,
// their inline errors, and their submission back through the emulator. Loaded before app.js,
// whose helpers it uses. Text only ever reaches the page through textContent or attribute
// setters, never as HTML.

function renderModal(modal) {
  const dialog = $("modal");
  if (!modal) {
    state.modalKey = "";
    if (dialog.open) dialog.close();
    return;
  }
  const key = `${modal.id}:${modal.hash}`;
  if (key !== state.modalKey) {
    state.modalKey = key;
    $("modal-title").textContent = modal.title;
    $("modal-submit").textContent = modal.submit || "Submit";
    $("modal-submit").hidden = !modal.submit;
    $("modal-close").textContent = modal.close;
    const blocks = $("modal-blocks");
    blocks.replaceChildren();
    renderBlocks(modal.blocks, blocks, { view_id: modal.id });
    dialog.dataset.view = modal.id;
  }
  showErrors(modal.errors);
  if (!dialog.open) {
    dialog.showModal();
    dialog.querySelector("input, textarea, select")?.focus();
  }
}

function showErrors(errors) {
  let first = null;
  for (const block of document.querySelectorAll("#modal-blocks .input-block")) {
    const message = errors[block.dataset.block] || "";
    const error = block.querySelector(".error");
    const changed = error.textContent !== message;
    error.textContent = message;
    error.hidden = !message;
    block.querySelector("[data-field]")?.setAttribute("aria-invalid", String(Boolean(message)));
    if (message && changed && !first) first = block;
  }
  if (first) {
    first.scrollIntoView({ block: "center" });
    first.querySelector("input, textarea, select")?.focus();
  }
}

let fieldCount = 0;

function inputBlock(block) {
  const id = `field-${++fieldCount}`;
  const e = block.element || {};
  const label = block.label?.text || "";
  const wrapper = el("div", { className: "input-block", "data-block": block.block_id, "data-kind": e.type });
  const hint = block.hint ? el("p", { className: "hint", id: `${id}-hint`, text: block.hint.text }) : null;
  const error = el("p", { className: "error", id: `${id}-error`, role: "alert", hidden: "" });
  const described = [hint && `${id}-hint`, `${id}-error`].filter(Boolean).join(" ");
  const optional = block.optional ? el("span", { className: "optional", text: " (optional)" }) : null;
  const control = inputControl(e, id, described);
  if (e.type === "radio_buttons" || e.type === "checkboxes") {
    wrapper.append(el("fieldset", { "aria-describedby": described }, [el("legend", { text: label }, [optional]), control]));
  } else {
    wrapper.append(el("label", { for: id, text: label }, [optional]), control);
  }
  wrapper.append(hint || "", error);
  return wrapper;
}

function people() {
  return Object.entries(state.data.users).filter(([id]) => id !== "UBOT");
}

function option(value, text, selected) {
  const node = el("option", { value, text });
  node.selected = Boolean(selected);
  return node;
}

function inputControl(e, id, described) {
  const common = { id, "data-field": "", "aria-describedby": described };
  switch (e.type) {
    case "static_select": {
      const select = el("select", common, [option("", "Choose…", !e.initial_option)]);
      for (const o of e.options || []) select.append(option(o.value, o.text?.text || o.value, o.value === e.initial_option?.value));
      return select;
    }
    case "users_select":
    case "multi_users_select": {
      const multiple = e.type === "multi_users_select";
      const select = el("select", { ...common, multiple: multiple ? "" : null });
      if (!multiple) select.append(option("", "Choose someone…", !e.initial_user));
      const initial = multiple ? e.initial_users || [] : [e.initial_user];
      for (const [uid, name] of people()) select.append(option(uid, name, initial.includes(uid)));
      return select;
    }
    case "radio_buttons":
    case "checkboxes": {
      const kind = e.type === "radio_buttons" ? "radio" : "checkbox";
      const chosen = (e.initial_options || [e.initial_option]).filter(Boolean).map((o) => o.value);
      return el("div", { id, "data-field": "" }, (e.options || []).map((o, i) => {
        const input = el("input", { type: kind, id: `${id}-${i}`, name: id, value: o.value });
        input.checked = chosen.includes(o.value);
        return el("div", {}, [input, el("label", { for: `${id}-${i}`, text: ` ${o.text?.text || o.value}` })]);
      }));
    }
    case "datepicker":
      return el("input", { ...common, type: "date", value: e.initial_date || "" });
    case "number_input":
      return el("input", { ...common, type: "number", value: e.initial_value || "" });
    default: {
      const attrs = { ...common, maxlength: e.max_length || null, placeholder: e.placeholder?.text || null };
      const input = e.multiline ? el("textarea", attrs) : el("input", { ...attrs, type: "text" });
      input.value = e.initial_value || "";
      return input;
    }
  }
}

function formFields() {
  const fields = {};
  for (const block of document.querySelectorAll("#modal-blocks .input-block")) {
    const field = block.querySelector("[data-field]");
    if (field.tagName === "SELECT" && field.multiple) {
      fields[block.dataset.block] = [...field.selectedOptions].map((o) => o.value);
    } else if (field.tagName === "DIV") {
      fields[block.dataset.block] = [...field.querySelectorAll("input:checked")].map((i) => i.value);
    } else {
      fields[block.dataset.block] = field.value;
    }
  }
  return fields;
}

async function submitModal(event) {
  event.preventDefault();
  const submit = $("modal-submit");
  submit.disabled = true;
  try {
    await post("/api/submit", { user: state.me, view_id: $("modal").dataset.view, fields: formFields() });
  } catch (error) {
    say(`The form could not be sent: ${error.message}`, true);
  } finally {
    submit.disabled = false;
  }
}

async function closeModal(event) {
  event?.preventDefault();
  try {
    await post("/api/close", { user: state.me });
  } catch (error) {
    say(`The form could not be closed: ${error.message}`, true);
  }
}
