// The drawing page: pointer strokes on a canvas, sent while drawing (at most one request in
// flight, at most one every THROTTLE_MS), and the answer drawn as bars and a 28x28 grid. With
// "Inside the network" open, the page asks /api/explain (the same answer plus every layer's
// output and the saliency, drawn by inside.js); closed, the lighter /api/predict. A misread
// drawing can be saved under the right digit (/api/corrections), to fine-tune a model on later;
// with several models served, a menu switches between them (?model=NAME).
import { clearInside, measureSince, showInside } from "./inside.js";

const THROTTLE_MS = 150;
const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const digitOut = document.getElementById("digit");
const bars = document.getElementById("bars");
const errorOut = document.getElementById("error");
const inside = document.getElementById("inside");
const notDigit = document.getElementById("not-digit");
const correctForm = document.getElementById("correct");
const correctDigit = document.getElementById("correct-digit");
const correctStatus = document.getElementById("correct-status");
const modelChoice = document.getElementById("model-choice");

let drawing = false;
let last = null;
let inFlight = false;
let pending = false;
let lastSent = 0;
let hasInk = false;
// Bumped whenever the pad is cleared or replaced: an answer about an older drawing is dropped.
let generation = 0;

function clearPad() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
  hasInk = false;
  generation += 1;
  digitOut.textContent = "?";
  delete digitOut.dataset.digit;
  notDigit.hidden = true;
  correctForm.hidden = true;
  correctStatus.textContent = "";
  errorOut.textContent = "";
  showBars(null);
  seen.clearRect(0, 0, 28, 28);
  clearInside();
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) / box.width) * pad.width,
    y: ((event.clientY - box.top) / box.height) * pad.height,
  };
}

function stroke(from, to) {
  pen.strokeStyle = pen.fillStyle = "#000";
  pen.lineWidth = pad.width / 14;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.beginPath();
  if (from.x === to.x && from.y === to.y) {
    // A tap: a line of length 0 draws nothing, even with round caps, so draw the dot itself.
    pen.arc(from.x, from.y, pen.lineWidth / 2, 0, 2 * Math.PI);
    pen.fill();
  } else {
    pen.moveTo(from.x, from.y);
    pen.lineTo(to.x, to.y);
    pen.stroke();
  }
  hasInk = true;
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  last = point(event);
  stroke(last, last);
  schedule();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const next = point(event);
  stroke(last, next);
  last = next;
  schedule();
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, () => {
    if (!drawing) return;
    drawing = false;
    schedule(true);
  });
}

// Throttled: send now if allowed, otherwise remember to send when the current request returns.
function schedule(final = false) {
  if (!hasInk) return;
  const now = performance.now();
  if (inFlight || (!final && now - lastSent < THROTTLE_MS)) {
    pending = true;
    if (!inFlight) setTimeout(() => pending && schedule(true), THROTTLE_MS);
    return;
  }
  pending = false;
  lastSent = now;
  send(JSON.stringify({ image: pad.toDataURL("image/png") }), "application/json");
}

async function send(body, contentType) {
  inFlight = true;
  const asked = generation;
  const model = modelChoice.value ? `?model=${encodeURIComponent(modelChoice.value)}` : "";
  const endpoint = (inside.open ? "/api/explain" : "/api/predict") + model;
  try {
    const headers = contentType ? { "Content-Type": contentType } : {};
    const started = performance.now();
    const response = await fetch(endpoint, { method: "POST", body, headers });
    const answer = await response.json();
    if (asked !== generation) return; // the pad was cleared or replaced meanwhile
    measureSince("barenet:round-trip", started);
    if (response.ok) {
      errorOut.textContent = "";
      show(answer);
    } else if (response.status === 422) {
      errorOut.textContent = "No digit found yet: draw with a bolder stroke.";
    } else {
      errorOut.textContent = answer.error || `The server answered ${response.status}.`;
    }
  } catch (problem) {
    errorOut.textContent = `Cannot reach the server: ${problem.message}`;
  } finally {
    inFlight = false;
    if (pending) schedule(true);
  }
}

function show(answer) {
  digitOut.textContent = answer.is_digit ? String(answer.digit) : "?";
  digitOut.dataset.digit = String(answer.digit);
  digitOut.dataset.isDigit = String(answer.is_digit);
  notDigit.hidden = answer.is_digit;
  notDigit.textContent =
    `That doesn't look like a digit (closest: ${answer.digit}, ` +
    `${Math.round(100 * answer.probabilities[answer.digit])}%).`;
  correctForm.hidden = false;
  correctStatus.textContent = "";
  showBars(answer.probabilities, answer.digit);
  const pixels = seen.createImageData(28, 28);
  answer.input28.flat().forEach((value, i) => {
    pixels.data.set([value, value, value, 255], 4 * i);
  });
  seen.putImageData(pixels, 0, 0);
  if (answer.layers) showInside(answer);
}

// One row per class, built once; each answer only updates the numbers and widths.
function showBars(probabilities, best) {
  if (bars.children.length === 0) {
    for (let digit = 0; digit < 10; digit++) {
      const item = document.createElement("li");
      item.innerHTML =
        `<span aria-hidden="true">${digit}</span>` +
        '<span class="track" aria-hidden="true"><span class="fill"></span></span>' +
        '<span class="value" aria-hidden="true"></span>';
      bars.append(item);
    }
  }
  [...bars.children].forEach((item, digit) => {
    const p = probabilities ? probabilities[digit] : 0;
    const percent = (100 * p).toFixed(1);
    item.dataset.probability = String(p);
    item.classList.toggle("best", digit === best);
    item.setAttribute("aria-label", `digit ${digit}: ${percent}%`);
    item.querySelector(".fill").style.width = `${percent}%`;
    item.querySelector(".value").textContent = `${percent}%`;
  });
}

document.getElementById("clear").addEventListener("click", () => {
  clearPad();
  pad.focus();
});
const fileInput = document.getElementById("file");
document.getElementById("upload").addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => {
  const file = fileInput.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  // The new image replaces the old one and its answer at once: if it cannot be read, the page
  // shows the error beside an empty pad, never beside the previous picture.
  clearPad();
  const shown = generation;
  const image = new Image();
  image.onload = () => {
    if (shown === generation) {
      // Shown on the pad, scaled to fit, so the drawing area tells the truth.
      const scale = Math.min(pad.width / image.width, pad.height / image.height);
      const w = image.width * scale;
      const h = image.height * scale;
      pen.drawImage(image, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
      hasInk = true;
    }
    URL.revokeObjectURL(image.src);
  };
  image.onerror = () => URL.revokeObjectURL(image.src);
  image.src = URL.createObjectURL(file);
  send(form, null);
  fileInput.value = "";
});

// "Wrong? It was a ...": the drawing as it is on the pad, saved under the digit chosen.
correctForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { image: pad.toDataURL("image/png"), digit: Number(correctDigit.value) };
  correctStatus.textContent = "Saving…";
  try {
    const response = await fetch("/api/corrections", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
    });
    const answer = await response.json();
    correctStatus.textContent = response.ok
      ? `Saved as a ${body.digit} (${answer.count} in your digits, ${answer.folder}).`
      : answer.error || `The server answered ${response.status}.`;
  } catch (problem) {
    correctStatus.textContent = `Cannot reach the server: ${problem.message}`;
  }
});

let models = [];

function describeModel(model) {
  const parts = [`Model: ${model.name}`, `${model.parameters.toLocaleString()} parameters`];
  if (model.training_data) parts.push(`trained on ${model.training_data}`);
  if (model.test_accuracy != null) {
    parts.push(`${(100 * model.test_accuracy).toFixed(2)}% test accuracy`);
  }
  return parts.join(" · ");
}

async function loadModelInfo() {
  const info = document.getElementById("model-info");
  try {
    models = await (await fetch("/api/models")).json();
    info.textContent = describeModel(models[0]);
    if (models.length > 1) {
      modelChoice.replaceChildren(
        ...models.map((model) => new Option(model.name, model.name)),
      );
      document.getElementById("model-switch").hidden = false;
    }
  } catch (problem) {
    info.textContent = "Could not load the model's description.";
  }
}

// Another model reads the same drawing at once.
modelChoice.addEventListener("change", () => {
  const model = models.find((each) => each.name === modelChoice.value);
  if (model) document.getElementById("model-info").textContent = describeModel(model);
  schedule(true);
});

// Opening the inside view fills it at once for what is already drawn.
inside.addEventListener("toggle", () => inside.open && schedule(true));

clearPad();
loadModelInfo();
