// "Inside the network": every layer's output for the current drawing (an /api/explain answer),
// drawn as feature maps or strips of units, the saliency map over the input, and for any unit
// the formula that computed it, with its numbers filled in from the layer and the one before.

const MAX_SCALE = 8; // the largest on-screen pixels per value in a picture
const TARGET_WIDTH = 400; // about how wide a layer's picture is drawn, in CSS pixels
const GAP = 1; // values of space between feature maps
const GAP_COLOUR = [221, 224, 228];

const empty = document.getElementById("inside-empty");
const views = document.getElementById("inside-views");
const list = document.getElementById("layers");
const inputCanvas = document.getElementById("inside-input");
const saliencyCanvas = document.getElementById("saliency");
const saliencyCaption = document.getElementById("saliency-caption");

let answer = null;
let panels = []; // one per layer: its elements, geometry, flat values and selected unit

// -- timing ----------------------------------------------------------------------------------

// A User Timing entry from `start` to now, read by benchmarks/page.py; browsers without
// measure(name, {start}) (before 2020) just go without.
export function measureSince(name, start) {
  try {
    performance.measure(name, { start });
  } catch {
    // not supported: nothing to record
  }
}

// -- numbers and colours -----------------------------------------------------------------------

export function fmt(value) {
  if (value === 0) return "0";
  const text = Math.abs(value) >= 1e-3 && Math.abs(value) < 1e5
    ? String(Number(value.toPrecision(3)))
    : value.toExponential(2);
  return text.replace("-", "−");
}

// "+ 0.12" or "− 0.12": a term added to a sum; `(−0.12)` for a negative factor.
const plus = (value) => (value < 0 ? `− ${fmt(-value)}` : `+ ${fmt(value)}`);
const factor = (value) => (value < 0 ? `(${fmt(value)})` : fmt(value));

function maxAbs(flat) {
  let largest = 0;
  for (const value of flat) largest = Math.max(largest, Math.abs(value));
  return largest;
}

// Red for positive, blue for negative, near-white for zero (ColorBrewer's RdBu ends).
function colour(t) {
  const [r, g, b] = t >= 0 ? [178, 24, 43] : [33, 102, 172];
  const a = Math.min(1, Math.abs(t));
  return [247 + (r - 247) * a, 247 + (g - 247) * a, 247 + (b - 247) * a];
}

// -- geometry: where each value of a layer sits in its picture ----------------------------------

// Feature maps (C, H, W) in a grid of up to 8 across; a vector of F units as rows of cells
// (28 across for 784 pixels, so they still look like the image; up to 32 otherwise).
function geometry(shape) {
  if (shape.length >= 2) {
    const [maps, h, w] = shape.length === 3 ? shape : [1, ...shape];
    const cols = Math.min(maps, 8);
    const rows = Math.ceil(maps / cols);
    const width = cols * (w + GAP) - GAP;
    return { maps, h, w, cols, rows, width, height: rows * (h + GAP) - GAP };
  }
  const units = shape[0];
  const w = units === 784 ? 28 : Math.min(units, 32);
  const h = Math.ceil(units / w);
  return { maps: 1, h, w, cols: 1, rows: 1, width: w, height: h, units };
}

function unitAt(geo, x, y) {
  const col = Math.floor(x / (geo.w + GAP));
  const row = Math.floor(y / (geo.h + GAP));
  const j = x - col * (geo.w + GAP);
  const i = y - row * (geo.h + GAP);
  const map = row * geo.cols + col;
  if (j >= geo.w || i >= geo.h || map >= geo.maps) return null;
  const unit = map * geo.h * geo.w + i * geo.w + j;
  return geo.units !== undefined && unit >= geo.units ? null : unit;
}

function position(geo, unit) {
  const map = Math.floor(unit / (geo.h * geo.w));
  const rest = unit % (geo.h * geo.w);
  return { map, i: Math.floor(rest / geo.w), j: rest % geo.w };
}

// Where a unit is drawn: its pixel in the layer's picture.
function cellOf(geo, unit) {
  const { map, i, j } = position(geo, unit);
  return {
    x: (map % geo.cols) * (geo.w + GAP) + j,
    y: Math.floor(map / geo.cols) * (geo.h + GAP) + i,
  };
}

function describe(geo, shape, unit) {
  if (shape.length === 1) return `unit ${unit}`;
  const { map, i, j } = position(geo, unit);
  const where = `row ${i}, column ${j}`;
  return shape.length === 3 && shape[0] > 1 ? `map ${map}, ${where}` : where;
}

// -- drawing ---------------------------------------------------------------------------------

function paint(canvas, geo, flat, scale = maxAbs(flat)) {
  canvas.width = geo.width;
  canvas.height = geo.height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(geo.width, geo.height);
  for (let p = 0; p < geo.width * geo.height; p++) image.data.set([...GAP_COLOUR, 255], 4 * p);
  for (let unit = 0; unit < flat.length; unit++) {
    const { x, y } = cellOf(geo, unit);
    const rgb = colour(scale > 0 ? flat[unit] / scale : 0);
    image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * (y * geo.width + x));
  }
  context.putImageData(image, 0, 0);
  // A short strip of units (the 10 outputs) gets big cells; pictures get at most MAX_SCALE.
  const most = geo.height === 1 ? 3 * MAX_SCALE : MAX_SCALE;
  const pixelSize = Math.max(1, Math.min(most, Math.floor(TARGET_WIDTH / geo.width)));
  canvas.style.width = `${geo.width * pixelSize}px`;
}

// The saliency over the input: the ink in grey, each pixel tinted by d score / d pixel.
function paintSaliency(input, saliency) {
  const flat = saliency.flat();
  const scale = maxAbs(flat);
  const context = saliencyCanvas.getContext("2d");
  const image = context.createImageData(28, 28);
  input.flat().forEach((ink, p) => {
    const paper = 255 - 0.45 * ink;
    const [r, g, b] = colour(scale > 0 ? flat[p] / scale : 0);
    const a = scale > 0 ? Math.min(1, (1.6 * Math.abs(flat[p])) / scale) : 0;
    image.data.set([paper + (r - paper) * a, paper + (g - paper) * a, paper + (b - paper) * a, 255],
      4 * p);
  });
  context.putImageData(image, 0, 0);
}

function paintInput(input) {
  const context = inputCanvas.getContext("2d");
  const image = context.createImageData(28, 28);
  input.flat().forEach((value, p) => image.data.set([value, value, value, 255], 4 * p));
  context.putImageData(image, 0, 0);
}

// -- formulas ----------------------------------------------------------------------------------

const sub = (name, index) => `<var>${name}</var><sub>${index}</sub>`;

// The input of layer k: the previous layer's output, or the 28x28 pixels for the first layer.
function inputOf(k) {
  if (k > 0) {
    const before = panels[k - 1];
    return { flat: before.flat, shape: before.view.shape, geo: before.geo };
  }
  const shape = [28, 28];
  return { flat: answer.input28.flat(), shape, geo: geometry(shape) };
}

// A window of the input (channel c, rows r0.., cols c0.., size k), as values, where it exists.
function windowValues(source, channel, r0, c0, size) {
  const [, h, w] = source.shape.length === 3 ? source.shape : [1, ...source.shape];
  const values = [];
  for (let i = r0; i < r0 + size; i++) {
    for (let j = c0; j < c0 + size; j++) {
      const inside = i >= 0 && j >= 0 && i < h && j < w;
      values.push(inside ? source.flat[channel * h * w + i * w + j] : 0); // padding is 0
    }
  }
  return values;
}

// Each kind: symbol(unit) for use inside the next layer's formula (or null), and
// formula(unit, value) -> HTML. `k` is the layer's index, `view` its entry in the answer.
const FORMULAS = {
  Dense: {
    symbol: (k, view, unit) =>
      `x · ${sub("w", unit)}${view.parameters.bias ? ` + ${sub("b", unit)}` : ""}`,
    formula(k, view, unit, value) {
      const bias = view.parameters.bias;
      const x = `(x: the ${view.config.in_features} outputs of the layer before)`;
      if (!bias) return `${this.symbol(k, view, unit)} = ${fmt(value)} ${x}`;
      return `${this.symbol(k, view, unit)} = ${fmt(value - bias[unit])} ${plus(bias[unit])}` +
        ` = ${fmt(value)} ${x}`;
    },
  },
  Conv2D: {
    symbol: (k, view, unit) => {
      const { map } = position(panels[k].geo, unit);
      const bias = view.parameters.bias ? ` + ${sub("b", map)}` : "";
      return `Σ ${sub("k", map)} ⊙ x<sub>window</sub>${bias}`;
    },
    formula(k, view, unit, value) {
      const { map, i, j } = position(panels[k].geo, unit);
      const { kernel_size: size, stride, padding, in_channels: channels } = view.config;
      const r0 = i * stride - padding;
      const c0 = j * stride - padding;
      const maps = channels > 1 ? `all ${channels} input maps` : "the input";
      const window = `rows ${r0}–${r0 + size - 1}, columns ${c0}–${c0 + size - 1} of ${maps}`;
      const bias = view.parameters.bias;
      const sum = bias ? ` = ${fmt(value - bias[map])} ${plus(bias[map])}` : "";
      return `${this.symbol(k, view, unit)}${sum} = ${fmt(value)} (the ${size}×${size} kernel ` +
        `${map} over ${window})`;
    },
  },
  BatchNorm: {
    symbol: (k, view, unit) => {
      const c = channelOf(k, unit);
      const [gamma, mu, variance, beta] = ["γ", "μ", "σ²", "β"].map((name) => sub(name, c));
      return `${gamma} (x − ${mu}) / √(${variance} + ε) + ${beta}`;
    },
    formula(k, view, unit, value) {
      const c = channelOf(k, unit);
      const p = view.parameters;
      const x = inputOf(k).flat[unit];
      return `${this.symbol(k, view, unit)} = ${factor(p.weight[c])} × (${fmt(x)} ` +
        `${plus(-p.running_mean[c])}) / √(${fmt(p.running_var[c])} + ${view.config.eps}) ` +
        `${plus(p.bias[c])} = ${fmt(value)}`;
    },
  },
  ReLU: elementwise("relu", (x) => `max(0, ${fmt(x)})`),
  LeakyReLU: elementwise(
    "leaky_relu", (x, view) => `max(${view.config.negative_slope} × ${factor(x)}, ${fmt(x)})`,
  ),
  Sigmoid: elementwise("σ", (x) => `1 / (1 + e<sup>${fmt(-x)}</sup>)`),
  Tanh: elementwise("tanh", (x) => `tanh(${fmt(x)})`),
  Activation: elementwise("f", (x) => `f(${fmt(x)})`),
  Dropout: {
    symbol: () => null,
    formula: (k, view, unit, value) =>
      `x = ${fmt(value)} (dropout is off when reading: it passes x on)`,
  },
  Rescaling: {
    symbol: () => null,
    formula(k, view, unit, value) {
      const x = inputOf(k).flat[unit];
      const offset = view.config.offset ? ` ${plus(view.config.offset)}` : "";
      const scale = fmt(view.config.scale);
      return `x × ${scale}${offset} = ${fmt(x)} × ${scale}${offset} = ${fmt(value)}`;
    },
  },
  Softmax: {
    symbol: () => null,
    formula(k, view, unit, value) {
      const scores = inputOf(k).flat;
      const total = scores.reduce((sum, z) => sum + Math.exp(z), 0);
      const numbers = Number.isFinite(total) // beyond e^709 only the result can be shown
        ? `e<sup>${fmt(scores[unit])}</sup> / ${fmt(total)} = ` : "";
      return `e<sup>${sub("z", unit)}</sup> / Σ<sub>j</sub> e<sup>${sub("z", "j")}</sup> = ` +
        `${numbers}${fmt(value)} (the probability of ${unit})`;
    },
  },
  Ensemble: {
    symbol: () => null,
    formula(k, view, unit, value) {
      const count = view.config.members.length;
      return `log( (1/${count}) Σ<sub>k</sub> ${sub("p", `k,${unit}`)} ) = ${fmt(value)} ` +
        `(the log of ${count} networks' mean probability of ${unit}: ${fmt(Math.exp(value))})`;
    },
  },
  Pool: {
    symbol: () => null,
    formula(k, view, unit, value) {
      const { map, i, j } = position(panels[k].geo, unit);
      const { pool_size: size, stride } = view.config;
      const values = windowValues(inputOf(k), map, i * stride, j * stride, size);
      const name = view.kind === "MaxPool2D" ? "max" : "mean";
      const [r0, c0] = [i * stride, j * stride];
      return `${name} of the ${size}×${size} window at rows ${r0}–${r0 + size - 1}, ` +
        `columns ${c0}–${c0 + size - 1} of map ${map} = ` +
        `${name}(${values.map(fmt).join(", ")}) = ${fmt(value)}`;
    },
  },
  Reshape: {
    symbol: () => null,
    formula(k, view, unit, value) {
      const source = inputOf(k);
      return `x at ${describe(source.geo, source.shape, unit)} of the layer before = ` +
        `${fmt(value)} (the same number, only arranged differently)`;
    },
  },
};
FORMULAS.Flatten = FORMULAS.Reshape;
FORMULAS.MaxPool2D = FORMULAS.AvgPool2D = FORMULAS.Pool;
FORMULAS.BatchNorm1d = FORMULAS.BatchNorm2d = FORMULAS.BatchNorm;

function elementwise(name, numbers) {
  return {
    symbol: () => null,
    formula(k, view, unit, value) {
      const x = inputOf(k).flat[unit];
      const before = k > 0 ? formulaOf(k - 1).symbol(k - 1, panels[k - 1].view, unit) : null;
      return `${name}(${before || "x"}) = ${name}(${fmt(x)}) = ${numbers(x, view)} = ${fmt(value)}`;
    },
  };
}

function channelOf(k, unit) {
  const shape = panels[k].view.shape;
  return shape.length === 3 ? Math.floor(unit / (shape[1] * shape[2])) : unit;
}

function formulaOf(k) {
  return FORMULAS[panels[k].view.kind] || {
    symbol: () => null,
    formula: (kk, view, unit, value) => `${fmt(value)}`,
  };
}

// -- panels: one list item per layer -------------------------------------------------------------

function buildPanel(k) {
  const item = document.createElement("li");
  item.className = "layer";
  const title = document.createElement("h3");
  const name = document.createElement("span");
  const shape = document.createElement("span");
  shape.className = "shape";
  title.append(name, " ", shape);
  const frame = document.createElement("div");
  frame.className = "frame";
  const canvas = document.createElement("canvas");
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "img");
  const marker = document.createElement("div");
  marker.className = "marker";
  marker.hidden = true;
  frame.append(canvas, marker);
  const formula = document.createElement("output");
  formula.className = "formula";
  formula.setAttribute("aria-live", "polite");
  item.append(title, frame, formula);
  const panel = { item, name, shape, canvas, marker, formula, selected: null };
  canvas.addEventListener("pointermove", (event) => pointAt(panel, event));
  canvas.addEventListener("pointerdown", (event) => pointAt(panel, event));
  canvas.addEventListener("keydown", (event) => moveWithKeys(panel, event));
  return panel;
}

function pointAt(panel, event) {
  const box = panel.canvas.getBoundingClientRect();
  const x = Math.floor(((event.clientX - box.left) / box.width) * panel.geo.width);
  const y = Math.floor(((event.clientY - box.top) / box.height) * panel.geo.height);
  const unit = unitAt(panel.geo, x, y);
  if (unit !== null) select(panel, unit);
}

function moveWithKeys(panel, event) {
  const count = panel.flat.length;
  const { h, w } = panel.geo;
  const steps = {
    ArrowLeft: -1, ArrowRight: 1, ArrowUp: -w, ArrowDown: w, PageUp: -h * w, PageDown: h * w,
  };
  let unit = panel.selected ?? strongest(panel);
  if (event.key in steps) unit = Math.min(count - 1, Math.max(0, unit + steps[event.key]));
  else if (event.key === "Home") unit = strongest(panel);
  else return;
  event.preventDefault();
  select(panel, unit);
}

function strongest(panel) {
  let best = 0;
  panel.flat.forEach((value, unit) => { if (value > panel.flat[best]) best = unit; });
  return best;
}

// The unit a person chose, kept while they draw on; until then the layer's largest value.
function select(panel, unit) {
  panel.selected = unit;
  showFormula(panel);
}

function showFormula(panel) {
  const unit = panel.selected ?? strongest(panel);
  if (unit >= panel.flat.length) {
    panel.formula.textContent = "";
    panel.marker.hidden = true;
    return;
  }
  const k = panels.indexOf(panel);
  const where = describe(panel.geo, panel.view.shape, unit);
  panel.formula.innerHTML = `<b>${where}:</b> ` +
    formulaOf(k).formula(k, panel.view, unit, panel.flat[unit]);
  const { x, y } = cellOf(panel.geo, unit);
  Object.assign(panel.marker.style, {
    left: `${(100 * x) / panel.geo.width}%`,
    top: `${(100 * y) / panel.geo.height}%`,
    width: `${100 / panel.geo.width}%`,
    height: `${100 / panel.geo.height}%`,
  });
  panel.marker.hidden = false;
}

function summary(panel) {
  const { view, flat } = panel;
  const best = strongest(panel);
  const parts = view.shape.length === 3 && view.shape[0] > 1
    ? `${view.shape[0]} feature maps of ${view.shape[1]} by ${view.shape[2]}`
    : `${flat.length} values`;
  return `${view.name}: ${parts}; the largest, ${fmt(flat[best])}, at ` +
    `${describe(panel.geo, view.shape, best)}`;
}

// A dense layer over the pixels: the weights of its strongest units, as 28x28 images.
function showTopUnits(panel) {
  panel.item.querySelector(".weights")?.remove();
  const units = panel.view.top_units;
  if (!units) return;
  const box = document.createElement("div");
  box.className = "weights";
  const caption = document.createElement("p");
  caption.textContent =
    "The weights of the units that fired most: the ink pattern each one looks for.";
  box.append(caption);
  const geo = geometry([28, 28]);
  for (const entry of units) {
    const figure = document.createElement("figure");
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    const label = `weights of unit ${entry.unit}, which output ${fmt(entry.value)}`;
    canvas.setAttribute("aria-label", label);
    paint(canvas, geo, entry.weights.flat());
    canvas.style.width = "56px";
    canvas.addEventListener("click", () => select(panel, entry.unit));
    const legend = document.createElement("figcaption");
    legend.textContent = `unit ${entry.unit}: ${fmt(entry.value)}`;
    figure.append(canvas, legend);
    box.append(figure);
  }
  panel.item.append(box);
}

// -- the public entry points -------------------------------------------------------------------

export function showInside(next) {
  const started = performance.now();
  answer = next;
  const sameLayers = panels.length === next.layers.length &&
    panels.every((panel, k) => panel.view.name === next.layers[k].name);
  if (!sameLayers) {
    list.replaceChildren();
    panels = next.layers.map((_, k) => buildPanel(k));
    list.append(...panels.map((panel) => panel.item));
  }
  next.layers.forEach((view, k) => {
    const panel = panels[k];
    panel.view = view;
    panel.flat = view.values.flat(Infinity);
    panel.geo = geometry(view.shape);
    panel.name.textContent = `${k + 1}. ${view.name}`;
    panel.shape.textContent = view.shape.join(" × ");
    panel.item.dataset.kind = view.kind;
    paint(panel.canvas, panel.geo, panel.flat);
    panel.canvas.setAttribute("aria-label", summary(panel));
    showTopUnits(panel);
  });
  // After all layers (a formula reads the layer before); until a unit is chosen, each layer
  // shows the formula of its largest value.
  panels.forEach(showFormula);
  paintInput(next.input28);
  paintSaliency(next.input28, next.saliency);
  saliencyCaption.textContent = `Saliency of "${next.target}": red pixels raise its score with ` +
    "more ink, blue ones lower it";
  saliencyCanvas.setAttribute("aria-label", saliencyCaption.textContent);
  empty.hidden = true;
  views.hidden = false;
  measureSince("barenet:render", started);
}

export function clearInside() {
  answer = null;
  views.hidden = true;
  empty.hidden = false;
  for (const panel of panels) panel.selected = null;
}
