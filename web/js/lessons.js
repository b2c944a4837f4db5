// The Lessons tab (as page_lessons.py): six one-click lessons and "Guess the temperature".
// A lesson fills the prompt, the seed and its tab's controls, shows its notice above the tabs, opens the tab
// and presses its button. The quiz keeps its temperature in this page's memory until Reveal (there is no
// server to keep it on: a student who opens the developer tools can find it).

import { g } from "./bars.js";
import { $, checkTemperatures, escape } from "./controls.js";
import { nextTokenDistribution, stream } from "./generate.js";
import { UserError, randomSeed } from "./input.js";
import { compare, drawBars, readSharedPrompt, write } from "./views.js";
import { wholeTexts } from "./wholetext.js";

function randomBelow(n) { // an index nobody can predict, as page_lessons' SystemRandom
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] % n;
}

function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBelow(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// What a lesson's button sets: the shared prompt and seed, the notice, the tab and that tab's controls.
function fillLesson(app, ui, lesson, selectTab) {
  const max = app.settings.limits.max_temperature;
  $("#prompt").value = lesson.prompt;
  $("#seed").value = lesson.seed;
  $("#lesson-notice").innerHTML = lesson.notice;
  $("#lesson-box").hidden = false;
  selectTab(`tab-${lesson.tab}`);
  if (lesson.tab === "playground") {
    ui.temperature.set(Math.min(lesson.temperatures[0], max));
    ui.topK.set(0);
    ui.topP.set(lesson.top_p);
    ui.newTokens.set(Math.min(lesson.new_tokens, app.settings.limits.max_new_tokens));
    $("#stop-at-eos").checked = false; // as the Gradio page's lesson sets it
    if (lesson.top_p < 1 || "top_p" in lesson.try) $("#playground details").open = true;
    return () => write(app, ui);
  }
  if (lesson.tab === "whole-texts") {
    checkTemperatures($("#whole-temperatures"), lesson.temperatures);
    app.wholeTokens.set(lesson.new_tokens);
    return () => wholeTexts(app);
  }
  ui.columns.forEach((slider, i) => {
    slider.set(Math.min(lesson.temperatures[i], max));
    slider.box.dispatchEvent(new Event("input")); // the column's heading follows its temperature
  });
  ui.compareTokens.set(Math.min(lesson.new_tokens, app.settings.limits.max_new_tokens));
  return () => compare(app, ui);
}

export function setupLessons(app, ui, run, selectTab) {
  const list = $("#lesson-list");
  app.settings.lessons.forEach((lesson, i) => {
    const button = Object.assign(document.createElement("button"), { id: `lesson-${i + 1}`,
      textContent: `${i + 1}. ${lesson.title}` });
    button.addEventListener("click", () => run(fillLesson(app, ui, lesson, selectTab)));
    list.append(button);
  });
  $("#lesson-close").addEventListener("click", () => { $("#lesson-box").hidden = true; });
  showChoices(app.settings.quiz.choices);
  const quiz = new Quiz(app);
  $("#quiz-new").addEventListener("click", () => run(() => quiz.new()));
  $("#quiz-reveal").addEventListener("click", () => run(() => quiz.reveal()));
  return [...list.querySelectorAll("button"), $("#quiz-new"), $("#quiz-reveal")];
}

function showChoices(choices) {
  $("#quiz-guess").innerHTML = '<legend class="label">Your guess</legend>' + choices.map((c) =>
    `<label><input type="radio" name="quiz-guess" value="${c.temperature}"> ${escape(c.label)}</label>`).join("");
}

// Guess the temperature: ~40 words at a hidden temperature, then the answer and the next-word bars.
class Quiz {
  constructor(app) {
    this.app = app;
    this.hidden = null; // {temperature, seed, prompt, revealed}
  }

  async new() {
    const { app } = this;
    const { quiz } = app.settings;
    const prompt = readSharedPrompt(app);
    const answer = quiz.choices[randomBelow(quiz.choices.length)];
    const seed = randomSeed();
    this.hidden = null;
    showChoices(shuffled(quiz.choices));
    $("#quiz-verdict").textContent = "Which temperature wrote this? Pick one, then press Reveal.";
    $("#quiz-bars").hidden = true;
    const text = $("#quiz-text");
    text.dataset.done = "false";
    for await (const item of stream(app.model, app.words, app.tokenizer, prompt,
      { maxNewTokens: quiz.new_tokens, temperature: answer.temperature, seed })) text.textContent = item.story;
    this.hidden = { temperature: answer.temperature, seed, prompt, revealed: false };
    text.dataset.done = "true";
  }

  async reveal() {
    const { hidden } = this;
    const { quiz } = this.app.settings;
    if (!hidden) throw new UserError("There is no puzzle yet: press New puzzle first.");
    if (hidden.revealed) throw new UserError("This puzzle is already revealed: press New puzzle for another one.");
    const picked = $("#quiz-guess input:checked");
    if (!picked) throw new UserError("Pick a temperature first, then press Reveal.");
    const guess = Number(picked.value);
    const answer = quiz.choices.find((c) => c.temperature === hidden.temperature);
    const verdict = guess === answer.temperature ? "<strong>Right!</strong>"
      : `<strong>Not this time:</strong> you picked ${g(guess)}.`;
    $("#quiz-verdict").innerHTML = `<p>${verdict} This text was written at temperature <strong>${g(answer.temperature)}` +
      `</strong> (${escape(answer.name)}), seed ${hidden.seed}. ${escape(answer.tell)}</p><p>${escape(quiz.how_to_tell)} ` +
      "The bars show the model's chances for the word right after the prompt at each of the three temperatures.</p>";
    hidden.revealed = true;
    const { app } = this;
    const dists = await nextTokenDistribution(app.model, app.words, app.tokenizer, hidden.prompt,
      quiz.choices.map((c) => c.temperature), quiz.top_words);
    drawBars(app, dists, hidden.prompt, {}, $("#quiz-bars"));
    $("#quiz-bars").hidden = false;
  }
}
