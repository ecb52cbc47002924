// The page's only script: a pad to draw on, a drop zone, and what the model read.
// Every image goes to this server's POST /read as it is, one per request; the server
// answers with the prediction, the probabilities and the 28x28 view the model saw.
"use strict";

const PAD_SIZE = 280; // CSS pixels a side
const PEN_WIDTH = 12; // CSS pixels: a felt pen's stroke on the pad
const IN_FLIGHT = 2; // files sent at once (the server reads those together)

const $ = (id) => document.getElementById(id);
let about = null; // GET /about: the model, its classes and the server's limits

async function start() {
  try {
    const response = await fetch("/about");
    about = await response.json();
    $("model").textContent = `Model: ${about.model}, trained on ${about.dataset}.`;
    $("layout").value = about.layout;
  } catch (error) {
    $("model").textContent = "The server did not answer: is `make app` running?";
  }
  setUpPad();
  setUpFiles();
}

// ---- Reading an image --------------------------------------------------------------

function megabytes(bytes) {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

// Sends one image; a failure of any kind comes back as a reading with its reason.
async function read(blob) {
  if (about && blob.size > about.max_request_bytes) {
    return {
      status: "too big to send",
      reason: `${megabytes(blob.size)} is over the ${megabytes(about.max_request_bytes)} ` +
        "this server takes per file: send a smaller copy.",
    };
  }
  let response;
  try {
    response = await fetch(`/read?layout=${$("layout").value}`, {
      method: "POST",
      body: blob,
      headers: { "Content-Type": "application/octet-stream" },
    });
  } catch (error) {
    return {
      status: "no answer",
      reason: "The server did not answer: is `make app` still running?",
    };
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    return { status: `error ${response.status}`, reason: body.error || response.statusText };
  }
  return body;
}

// Fills `element` with one reading: the images, the answer and the bar chart.
function render(element, name, reading) {
  element.replaceChildren($("reading").content.cloneNode(true));
  const ok = reading.status === "ok";
  element.className = "reading";
  element.classList.toggle("failed", !ok);
  element.classList.toggle("unsure", ok && reading.unsure);
  element.dataset.status = reading.status;
  element.dataset.prediction = ok ? reading.prediction : "";
  element.querySelector(".name").textContent = name;
  for (const which of ["thumbnail", "view"]) {
    if (reading[which]) element.querySelector(`.${which}`).src = reading[which];
  }
  element.querySelector(".prediction").textContent = ok ? reading.prediction : "?";
  element.querySelector(".confidence").textContent = ok
    ? `${(reading.confidence * 100).toFixed(1)}% sure`
    : reading.status;
  element.querySelector(".reason").textContent = reading.reason || "";
  const bars = element.querySelector(".bars");
  if (ok && reading.probabilities.length) drawBars(bars, reading.probabilities);
  else if (ok) {
    // A number: how sure the model is of each digit, left to right.
    bars.className = "digit-confidences";
    bars.textContent = [...reading.prediction].map(
      (digit, k) => `${digit}: ${Math.round(reading.digit_confidences[k] * 100)}%`,
    ).join("  ·  ");
  }
}

function drawBars(bars, probabilities) {
  const top = probabilities.indexOf(Math.max(...probabilities));
  const names = about ? about.class_names : probabilities.map((_, k) => String(k));
  bars.setAttribute(
    "aria-label",
    names.map((name, k) => `${name}: ${Math.round(probabilities[k] * 100)}%`).join(", "),
  );
  bars.replaceChildren(...probabilities.map((p, k) => {
    const bar = document.createElement("div");
    bar.className = k === top ? "bar top" : "bar";
    bar.dataset.class = names[k];
    bar.title = `${names[k]}: ${(p * 100).toFixed(1)}%`;
    const fill = document.createElement("i");
    fill.style.setProperty("--p", p.toFixed(4));
    const label = document.createElement("b");
    label.textContent = names[k];
    bar.append(fill, label);
    return bar;
  }));
}

// ---- The pad -------------------------------------------------------------------------

function setUpPad() {
  const pad = $("pad");
  const drawn = $("drawn");
  const scale = window.devicePixelRatio || 1;
  pad.width = pad.height = Math.round(PAD_SIZE * scale);
  const pen = pad.getContext("2d");
  pen.scale(scale, scale);
  let last = null; // where the pen is while it is down
  let asked = 0; // readings asked for; only the latest one is shown

  function clear() {
    asked += 1;
    pen.fillStyle = "white";
    pen.fillRect(0, 0, PAD_SIZE, PAD_SIZE);
    drawn.className = "reading empty";
    for (const key of Object.keys(drawn.dataset)) delete drawn.dataset[key];
    drawn.replaceChildren();
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "Your digit's reading appears here.";
    drawn.append(hint);
  }

  function at(event) {
    const box = pad.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * PAD_SIZE) / box.width,
      ((event.clientY - box.top) * PAD_SIZE) / box.height,
    ];
  }

  function stroke(from, to) {
    pen.lineCap = pen.lineJoin = "round";
    pen.lineWidth = PEN_WIDTH;
    pen.strokeStyle = "#111";
    pen.beginPath();
    pen.moveTo(...from);
    pen.lineTo(...to);
    pen.stroke();
  }

  // The pad as a PNG file. (toBlob can wait until the browser is idle, which headless
  // Chromium can put off for long; toDataURL encodes at once.)
  function padImage() {
    const bytes = atob(pad.toDataURL("image/png").split(",")[1]);
    return new Blob([Uint8Array.from(bytes, (c) => c.charCodeAt(0))], { type: "image/png" });
  }

  async function readDrawing() {
    const ask = ++asked;
    const lifted = performance.now();
    const reading = await read(padImage());
    if (ask !== asked) return; // the pad changed since: a newer reading is coming
    render(drawn, "your drawing", reading);
    const milliseconds = Math.round(performance.now() - lifted);
    drawn.dataset.latencyMs = milliseconds;
    drawn.querySelector(".name").textContent = `your drawing, read in ${milliseconds} ms`;
  }

  pad.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    pad.setPointerCapture(event.pointerId);
    last = at(event);
    stroke(last, last); // a dot, if the pen lifts without moving
  });
  pad.addEventListener("pointermove", (event) => {
    if (!last) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const each of events.length ? events : [event]) {
      const point = at(each);
      stroke(last, point);
      last = point;
    }
  });
  const lift = () => {
    if (!last) return;
    last = null;
    readDrawing();
  };
  pad.addEventListener("pointerup", lift);
  pad.addEventListener("pointercancel", lift);
  $("clear").addEventListener("click", clear);
  clear();
}

// ---- Files -----------------------------------------------------------------------------

function setUpFiles() {
  const drop = $("drop");
  const picker = $("picker");
  const waiting = []; // [file, its card], in the order given
  const count = { given: 0, read: 0, ok: 0, unsure: 0, failed: 0 };
  let sending = 0;

  function progress() {
    const left = count.given - count.read;
    const summary = `${count.ok} read, ${count.unsure} of them unsure, ` +
      `${count.failed} could not be read`;
    $("progress").textContent = left
      ? `Reading ${count.given} files: ${count.read} done, ${left} to go (${summary}).`
      : `${count.given} files: ${summary}.`;
  }

  function next() {
    while (sending < IN_FLIGHT && waiting.length) {
      const [file, card] = waiting.shift();
      sending += 1;
      read(file).then((reading) => {
        render(card, card.dataset.name, reading);
        count.read += 1;
        if (reading.status !== "ok") count.failed += 1;
        else {
          count.ok += 1;
          if (reading.unsure) count.unsure += 1;
        }
      }).finally(() => {
        sending -= 1;
        progress();
        next();
      });
    }
  }

  function add(files) {
    if (!files.length) return;
    const cards = [...files].map((file) => {
      const card = document.createElement("li");
      card.className = "reading waiting";
      card.dataset.name = file.webkitRelativePath || file.name;
      card.textContent = `${card.dataset.name}: waiting`;
      waiting.push([file, card]);
      return card;
    });
    $("results").prepend(...cards); // the newest files first; earlier ones stay below
    count.given += cards.length;
    progress();
    next();
  }

  picker.addEventListener("change", () => {
    add(picker.files);
    picker.value = ""; // the same files may be chosen again
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    add(event.dataTransfer.files);
  });
  // A file dropped beside the zone is not opened in place of the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

start();
