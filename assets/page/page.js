function classroomPage() {
  // What Gradio's components do not do for a classroom, done in the page alone (no server call):
  // Ctrl+Enter in the prompt and Enter in the seed box press the tab's main button; one Tab stop for the
  // tab bar (arrow keys move along it), so Write is three Tab presses from the prompt; a typed value
  // outside a slider's range is named with the range (Gradio clamps it on blur without a word); a result
  // made with settings that have changed since is marked; presentation mode; headings over the columns.
  const $ = (selector, root = document) => root.querySelector(selector);
  const shown = (el) => el !== null && el.offsetParent !== null;
  const MAIN_BUTTONS = ["#generate-button", "#compare-button", "#distribution-button"];

  function pressMainButton() {
    const button = MAIN_BUTTONS.map((s) => $(s)).find(shown);
    if (button) button.click();
  }

  function onKeydown(e) {
    if (!(e.target instanceof Element)) return;
    if (e.key === "Tab") rovingTabs(); // before the browser moves the focus, even in the page's first 250 ms
    if (e.key === "Enter" && !e.isComposing) {
      const inPrompt = e.target.closest("#prompt") && (e.ctrlKey || e.metaKey);
      const inSeed = e.target.closest("#seed") && !e.shiftKey;
      if (inPrompt || inSeed) {
        e.preventDefault();
        setTimeout(pressMainButton, 0); // after Gradio has taken the typed value
      }
      return;
    }
    const tab = e.target.closest("[role=tab]");
    const moves = { ArrowLeft: -1, ArrowRight: 1, Home: "first", End: "last" };
    if (!tab || !(e.key in moves)) return;
    const tabs = [...tab.parentElement.querySelectorAll("[role=tab]")];
    const i = tabs.indexOf(tab), move = moves[e.key];
    const next = move === "first" ? 0 : move === "last" ? tabs.length - 1 : (i + move + tabs.length) % tabs.length;
    e.preventDefault();
    tabs[next].click();
    tabs[next].focus();
  }

  function rovingTabs() { // the WAI-ARIA tabs pattern: only the selected tab is a Tab stop
    for (const tab of document.querySelectorAll("[role=tablist] [role=tab]")) {
      tab.tabIndex = tab.getAttribute("aria-selected") === "true" ? 0 : -1;
    }
  }

  function noteIn(block, className) {
    let note = block.querySelector(`:scope > .${className}`);
    if (!note) {
      note = document.createElement("p");
      note.className = className;
      note.setAttribute("role", "status");
      block.appendChild(note);
    }
    return note;
  }

  function onRangeInput(e) { // typing in a slider's number box, or dragging the slider
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || !["number", "range"].includes(box.type)) return;
    const block = box.closest(".block");
    if (!block) return;
    const min = parseFloat(box.min), max = parseFloat(box.max), value = parseFloat(box.value);
    if (box.type === "range" || (value >= min && value <= max)) {
      block.querySelector(":scope > .range-note")?.remove();
      return;
    }
    const label = block.querySelector("[data-testid=block-info]")?.textContent.trim() || "This setting";
    const used = Number.isNaN(value) ? min : Math.min(Math.max(value, min), max);
    noteIn(block, "range-note").textContent =
      `${label} goes from ${min} to ${max}: ${box.value || "an empty box"} is outside, so ${used} is used.`;
  }

  // Each result, what made it, and how to make it again. `made` is what the inputs were when the result
  // appeared: taken when its button is pressed, kept when the output next changes (not if the run failed).
  const RESULTS = [
    { output: "#story", button: "#generate-button", again: "press Write",
      sig: ["#seed-used", "#story"],
      inputs: [["#prompt", "prompt"], ["#seed", "seed"], ["#temperature", "T"], ["#new-tokens", "new tokens"],
               ["#top-k", "top-k"], ["#top-p", "top-p"], ["#stop-at-eos", "stop at the paragraph's end"]] },
    { output: "#columns", button: "#compare-button", again: "press Compare temperatures",
      sig: ["#compare-seed", "#column-text-0"],
      inputs: [["#prompt", "prompt"], ["#seed", "seed"], ["#column-temperature-0", "T1"],
               ["#column-temperature-1", "T2"], ["#column-temperature-2", "T3"], ["#column-temperature-3", "T4"],
               ["#compare-tokens", "new tokens"]] },
    { output: "#preset-table", button: "#preset-button", again: "press Run all eleven",
      sig: ["#preset-seed", "#preset-table"],
      inputs: [["#prompt", "prompt"], ["#seed", "seed"], ["#compare-tokens", "new tokens"]] },
    { output: "#distribution-plot", button: null, again: "press Show the next-word chances",
      sig: ["#distribution-plot .bars"], inputs: [["#prompt", "prompt"]] },
  ];

  function valueOf(selector) {
    const el = $(selector);
    if (!el) return "";
    if (el instanceof HTMLImageElement) return el.src;
    const number = el.querySelector("input[type=number]");
    if (number) return number.value;
    const ticks = [...el.querySelectorAll("input[type=checkbox]")];
    if (ticks.length) return ticks[0].checked ? "on" : "off";
    const image = el.querySelector("img");
    if (image) return image.src;
    const text = el.querySelector("textarea, input");
    return text ? text.value : el.textContent;
  }

  const snapshot = (result) => result.inputs.map(([selector]) => valueOf(selector));
  const signature = (result) => result.sig.map(valueOf).join("\u0000");

  function markStale(result) {
    const output = $(result.output);
    if (!output) return;
    const sig = signature(result);
    if (sig !== result.sig_seen) { // a new result (or the page's first look): what made it
      const empty = sig.replaceAll("\u0000", "") === "";
      result.made = empty ? null : result.pending || snapshot(result);
      result.sig_seen = sig; // `pending` stays: a streamed story changes many times, all made by one click
    }
    const now = snapshot(result);
    const changed = result.made ? result.inputs.filter((_, i) => result.made[i] !== now[i]) : [];
    const stale = changed.length > 0;
    output.classList.toggle("stale", stale);
    let note = output.previousElementSibling;
    if (!note?.classList.contains("stale-note")) {
      if (!stale) return;
      note = document.createElement("p");
      note.className = "stale-note";
      note.setAttribute("role", "status");
      output.before(note);
    }
    const made = changed.map(([selector, name]) => {
      const old = result.made[result.inputs.findIndex(([s]) => s === selector)];
      return name === "prompt" ? "an earlier prompt" : `${name} = ${old === "" ? "blank" : old}`;
    });
    note.hidden = !stale;
    note.textContent = stale ? `Made with ${made.join(", ")}; settings changed: ${result.again}.` : "";
  }

  function onClick(e) {
    if (!(e.target instanceof Element)) return;
    for (const result of RESULTS) {
      if (result.button && e.target.closest(result.button)) result.pending = snapshot(result);
    }
  }

  function temperatureName(t) {
    return t === 0 ? "greedy" : t < 0.75 ? "cold" : t <= 1.25 ? "as learned" : t <= 2 ? "hot" : "very hot";
  }

  function columnHeadings() { // "T = 0 · greedy" over each Side by side column
    for (const slider of document.querySelectorAll("[id^=column-temperature-]")) {
      const t = parseFloat(valueOf(`#${slider.id}`));
      let heading = slider.previousElementSibling;
      if (!heading?.classList.contains("column-heading")) {
        heading = document.createElement("h3");
        heading.className = "column-heading";
        slider.before(heading);
      }
      const text = Number.isNaN(t) ? "" : `T = ${t} · ${temperatureName(t)}`;
      if (heading.textContent !== text) heading.textContent = text;
    }
  }

  function tick() {
    rovingTabs();
    // Gradio scopes the page's CSS as ".gradio-container .contain <rule>": the class must sit inside .contain
    const presenting = $("#presentation input")?.checked === true;
    document.querySelectorAll(".gradio-container .contain > *").forEach((e) => e.classList.toggle("presenting", presenting));
    columnHeadings();
    RESULTS.forEach(markStale);
  }

  document.addEventListener("keydown", onKeydown, true);
  document.addEventListener("input", onRangeInput, true);
  document.addEventListener("click", onClick, true);
  setInterval(tick, 250); // cheap (a few dozen reads); catches changes made by Gradio itself (examples, resets)
}
