// vidcolor studio page: plain JS, no build step, nothing from a CDN.
// Every change is a whole standard hint file sent to the studio's HTTP API (docs/STUDIO.md);
// after each one the frame is recolored by the server.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const state = {
  film: null, frame: 0, view: "color", shots: [], hintFrames: {},
  hints: null,          // the current frame's hint file (object) or null
  selected: -1,         // index of the selected point in hints.points
  version: 0,           // bumps on every change: preview URLs never come from a cache
  previewSeq: 0, previewDone: Promise.resolve(), playing: null, renderTimer: null, drag: null, painting: false,
};

function url(path, params = {}) {
  const q = new URLSearchParams({ token: TOKEN, ...params });
  return `${path}?${q}`;
}

async function api(method, path, body, type) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.body = body;
    opts.headers["Content-Type"] = type || "application/json";
  }
  const res = await fetch(url(path), opts);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (!res.ok) {
    const message = (data && data.error) || `${res.status} ${res.statusText}`;
    throw new Error(message);
  }
  return data;
}

function status(text, bad = false) {
  const el = $("status");
  el.textContent = text || "";
  el.className = bad ? "bad" : "";
}

// ------------------------------------------------------------------ frame and preview

function frameHintFile() {
  return state.hints || { version: 1, frame: state.frame, points: [] };
}

async function loadFrame(index, { keepPalette = false } = {}) {
  index = Math.max(0, Math.min(index, (state.film.frames || 1) - 1));
  state.frame = index;
  $("scrub").value = index;
  $("frame-label").textContent = `frame ${index}`;
  state.selected = -1;
  if (!keepPalette) $("palette").innerHTML = '<span class="muted">click the frame</span>';
  $("gray").src = url(`/api/frames/${index}/gray`);
  const entry = state.hintFrames[String(index)];
  state.hints = null;
  if (entry && entry.json) {
    try { state.hints = await api("GET", `/api/hints/${index}`); } catch (e) { status(e.message, true); }
  }
  await loadScribble(index, entry && entry.png);
  showReference();
  drawMarks();
  refreshPreview();
  highlightShot();
}

function refreshPreview() {
  // Recolor: the newest request wins; the test reads data-preview-frame/-version.
  // state.previewDone resolves when it is shown: the palette waits for it, so that the
  // preview gets the network first.
  const seq = ++state.previewSeq;
  const index = state.frame;
  $("busy").textContent = "coloring…";
  let done;
  state.previewDone = new Promise((resolve) => { done = resolve; });
  const img = new Image();
  img.onload = () => {
    done();
    if (seq !== state.previewSeq) return;
    $("color").src = img.src;
    document.body.dataset.previewFrame = String(index);
    document.body.dataset.previewVersion = String(state.version);
    document.body.dataset.previewSeq = String(seq);
    $("busy").textContent = "";
    loadCarried(index);
  };
  img.onerror = async () => {
    done();
    if (seq !== state.previewSeq) return;
    $("busy").textContent = "";
    try { await api("GET", `/api/frames/${index}/preview`); } catch (e) { status(e.message, true); }
  };
  img.src = url(`/api/frames/${index}/preview`, { v: state.version, s: seq });
}

async function loadCarried(index) {
  try {
    const data = await api("GET", `/api/frames/${index}/carried`);
    if (index === state.frame) { state.carried = data.points; drawMarks(); }
  } catch (e) { /* the marks are a help, not the preview */ }
}

function setView(view) {
  state.view = view;
  for (const b of document.querySelectorAll("[data-view]")) b.classList.toggle("on", b.dataset.view === view);
  $("stage").dataset.view = view;
  $("split-control").hidden = view !== "split";
  applySplit();
}

function applySplit() {
  const pct = Number($("split").value);
  const color = $("color");
  if (state.view === "split") {
    color.style.clipPath = `inset(0 0 0 ${pct}%)`;
    $("split-line").style.left = `${pct}%`;
  } else {
    color.style.clipPath = "";
  }
}

// ------------------------------------------------------------------ point hints

function drawMarks() {
  const svg = $("marks");
  const film = state.film;
  const aspect = film.width / film.height;
  const short = Math.min(film.width, film.height);
  const parts = [];
  for (const p of state.carried || []) {
    parts.push(`<ellipse class="carried" cx="${p.x}" cy="${p.y}" rx="${0.008 / aspect * (aspect >= 1 ? 1 : aspect)}" ry="0.008"></ellipse>`);
  }
  const file = state.hints;
  (file ? file.points : []).forEach((p, i) => {
    const size = (p.size || 0.01) * short;
    const rx = Math.max(size / film.width / 2, 0.006);
    const ry = Math.max(size / film.height / 2, 0.006 * aspect);
    const color = typeof p.color === "string" ? p.color : "#888";
    parts.push(`<rect class="point${i === state.selected ? " selected" : ""}" data-i="${i}" ` +
      `x="${p.x - rx}" y="${p.y - ry}" width="${2 * rx}" height="${2 * ry}" fill="${color}"></rect>`);
  });
  svg.innerHTML = parts.join("");
  $("delete-point").disabled = state.selected < 0;
}

function fractionAt(event) {
  const r = $("gray").getBoundingClientRect();
  const x = Math.min(1, Math.max(0, (event.clientX - r.left) / r.width));
  const y = Math.min(1, Math.max(0, (event.clientY - r.top) / r.height));
  return { x: Math.round(x * 1e4) / 1e4, y: Math.round(y * 1e4) / 1e4 };
}

async function saveHints(file) {
  // The whole file goes to the server; a bad one is refused with the CLI's message and
  // the file on disk stays as it was.
  const index = state.frame;
  try {
    const body = JSON.stringify({ ...file, version: 1, frame: index });
    const data = await api("PUT", `/api/hints/${index}`, body);
    state.hints = JSON.parse(body);
    state.hintFrames[String(index)] = { ...(state.hintFrames[String(index)] || {}), json: data.file };
    changed(data);
    status(`saved ${data.file}`);
  } catch (e) {
    status(e.message, true);
    await reloadHints();
  }
}

async function reloadHints() {
  const data = await api("GET", "/api/hints");
  state.hintFrames = data.frames;
  $("undo").disabled = !data.can_undo;
  $("redo").disabled = !data.can_redo;
  const entry = state.hintFrames[String(state.frame)];
  state.hints = entry && entry.json ? await api("GET", `/api/hints/${state.frame}`) : null;
  drawMarks();
  markShots();
}

function changed(data) {
  state.version += 1;
  if (data) {
    $("undo").disabled = !data.can_undo;
    $("redo").disabled = !data.can_redo;
  }
  refreshPreview();
  markShots();
  if (state.playing !== null) playShot();  // changing a hint restarts the shot preview
}

async function addPoint(at) {
  const file = frameHintFile();
  const point = { x: at.x, y: at.y, color: $("picker").value, size: Number($("size").value) };
  file.points = [...(file.points || []), point];
  state.selected = file.points.length - 1;
  state.hints = file;
  drawMarks();
  await saveHints(file);
  state.selected = file.points.length - 1;
  drawMarks();
}

async function fetchPalette(at) {
  const el = $("palette");
  el.innerHTML = '<span class="muted">…</span>';
  await state.previewDone;
  try {
    const res = await fetch(url(`/api/frames/${state.frame}/palette`, { x: at.x, y: at.y, k: 8 }));
    const data = await res.json();
    if (!res.ok) throw new Error(data.error);
    el.innerHTML = "";
    for (const c of data.colors) {
      const b = document.createElement("button");
      b.className = "swatch";
      b.style.background = c.hex;
      b.title = `${c.hex}  p=${c.probability.toFixed(3)}`;
      b.dataset.hex = c.hex;
      b.addEventListener("click", () => pickColor(c.hex));
      el.appendChild(b);
    }
  } catch (e) { el.innerHTML = `<span class="bad">${e.message}</span>`; }
}

async function pickColor(hex) {
  $("picker").value = hex;
  if (state.selected >= 0 && state.hints) {
    state.hints.points[state.selected].color = hex;
    delete state.hints.points[state.selected].ab;
    drawMarks();
    await saveHints(state.hints);
  }
}

// ------------------------------------------------------------------ brush (scribbles)

async function loadScribble(index, name) {
  const canvas = $("brush-layer");
  canvas.width = state.film.width;
  canvas.height = state.film.height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!name) return;
  const img = new Image();
  img.src = url(`/api/scribbles/${index}`, { v: state.version });
  try { await img.decode(); ctx.drawImage(img, 0, 0, canvas.width, canvas.height); } catch (e) { /* none */ }
}

function paintAt(event) {
  const canvas = $("brush-layer");
  const at = fractionAt(event);
  const ctx = canvas.getContext("2d");
  const scale = canvas.width / $("gray").getBoundingClientRect().width;
  ctx.fillStyle = $("picker").value;
  ctx.beginPath();
  ctx.arc(at.x * canvas.width, at.y * canvas.height, Number($("brush-size").value) * scale, 0, 2 * Math.PI);
  ctx.fill();
}

async function saveScribble() {
  const canvas = $("brush-layer");
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  try {
    const data = await api("PUT", `/api/scribbles/${state.frame}`, blob, "image/png");
    state.hintFrames[String(state.frame)] = { ...(state.hintFrames[String(state.frame)] || {}), png: data.file };
    changed(data);
    status(`saved ${data.file}`);
  } catch (e) { status(e.message, true); }
}

// ------------------------------------------------------------------ reference image

function showReference() {
  const name = state.hints && state.hints.reference;
  const img = $("reference");
  img.hidden = !name;
  $("clear-reference").hidden = !name;
  if (name && /^reference_[0-9a-f]{16}\.(png|jpg|webp)$/.test(name)) img.src = url(`/api/references/${name}`);
}

async function uploadReference(file) {
  try {
    const data = await api("POST", "/api/references", file, file.type);
    const hints = frameHintFile();
    hints.reference = data.name;
    await saveHints(hints);
    showReference();
  } catch (e) { status(e.message, true); }
}

// ------------------------------------------------------------------ shots

async function loadShots() {
  try {
    const data = await api("GET", "/api/shots");
    state.shots = data.shots;
    state.film.frames = data.frames;
    $("scrub").max = data.frames - 1;
    const list = $("shots");
    list.innerHTML = "";
    for (const s of data.shots) {
      const li = document.createElement("li");
      li.dataset.shot = s.shot;
      li.innerHTML = `<img loading="lazy" alt="" src="${url(`/api/frames/${s.start}/thumb`)}">` +
        `<span>shot ${s.shot}<br><small>${s.start}–${s.stop - 1}</small></span>`;
      li.addEventListener("click", () => loadFrame(s.start));
      list.appendChild(li);
    }
    highlightShot();
    markShots();
  } catch (e) { status(e.message, true); }
}

function shotOf(index) {
  return state.shots.find((s) => s.start <= index && index < s.stop);
}

function highlightShot() {
  const shot = shotOf(state.frame);
  for (const li of $("shots").children) li.classList.toggle("on", shot && Number(li.dataset.shot) === shot.shot);
}

function markShots() {
  const hinted = Object.keys(state.hintFrames).map(Number);
  for (const li of $("shots").children) {
    const s = state.shots.find((x) => x.shot === Number(li.dataset.shot));
    li.classList.toggle("hinted", !!s && hinted.some((i) => s.start <= i && i < s.stop));
  }
}

// ------------------------------------------------------------------ shot playback

function playShot() {
  // Each start is counted (data-play-starts); each frame shown names the start it comes
  // from (data-playback-run), so a restart after a hint change can be seen.
  stopShot();
  const index = state.frame;
  const run = Number(document.body.dataset.playStarts || 0) + 1;
  document.body.dataset.playStarts = String(run);
  const source = new EventSource(url(`/api/frames/${index}/play`));
  state.playing = source;
  $("play-label").textContent = "coloring the shot…";
  source.onmessage = (ev) => {
    if (state.playing !== source) return;  // a stopped or replaced playback shows nothing
    const data = JSON.parse(ev.data);
    $("playback").src = `data:image/jpeg;base64,${data.jpeg}`;
    $("play-label").textContent = `frame ${data.frame}`;
    document.body.dataset.playbackRun = String(run);
    document.body.dataset.playbackFrame = String(data.frame);
  };
  source.addEventListener("done", () => { $("play-label").textContent += " (end of shot)"; source.close(); });
  source.addEventListener("error", (ev) => {
    if (ev.data) $("play-label").textContent = JSON.parse(ev.data).error;
    source.close();
  });
}

function stopShot() {
  if (state.playing) state.playing.close();
  state.playing = null;
}

// ------------------------------------------------------------------ render

async function startRender() {
  try {
    await api("POST", "/api/render");
    $("render").disabled = true;
    $("cancel").disabled = false;
    $("result").hidden = true;
    pollRender();
  } catch (e) { status(e.message, true); }
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "--:--";
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

async function pollRender() {
  const data = await api("GET", "/api/render");
  const bar = $("render-progress");
  document.body.dataset.renderState = data.state;
  if (data.state === "running") {
    const stages = { start: 0, analyze: 0, colorize: 1, encode: 2 };
    const part = data.frames ? data.frame / data.frames : 0;
    bar.value = ((stages[data.stage] || 0) + part) / 3;
    $("render-text").textContent = `${data.stage} ${data.frame}/${data.frames ?? "?"}  ETA ${clock(data.eta)}`;
    state.renderTimer = setTimeout(pollRender, 400);
    return;
  }
  $("render").disabled = false;
  $("cancel").disabled = true;
  if (data.state === "done") {
    bar.value = 1;
    $("render-text").textContent = `done: ${data.frames} frames in ${data.seconds.toFixed(1)} s`;
    const video = $("result");
    video.src = url("/api/render/output", { v: Date.now() });
    video.hidden = false;
    $("render-file").textContent = data.output;
  } else if (data.state === "cancelled") {
    $("render-text").textContent = "cancelled (the next render resumes)";
  } else if (data.state === "error") {
    $("render-text").textContent = "failed";
    status(data.message, true);
  }
}

// ------------------------------------------------------------------ history

async function history(which) {
  try {
    const data = await api("POST", `/api/${which}`);
    await reloadHints();
    await loadScribble(state.frame, (state.hintFrames[String(state.frame)] || {}).png);
    showReference();
    changed(data);
    status(data.files.length ? `${which}: ${data.files.join(", ")}` : `nothing to ${which}`);
  } catch (e) { status(e.message, true); }
}

// ------------------------------------------------------------------ events

function tool() { return document.querySelector('input[name="tool"]:checked').value; }

function bind() {
  for (const b of document.querySelectorAll("[data-view]")) b.addEventListener("click", () => setView(b.dataset.view));
  $("split").addEventListener("input", applySplit);
  $("scrub").addEventListener("change", () => loadFrame(Number($("scrub").value)));
  $("scrub").addEventListener("input", () => { $("frame-label").textContent = `frame ${$("scrub").value}`; });
  $("prev").addEventListener("click", () => loadFrame(state.frame - 1));
  $("next").addEventListener("click", () => loadFrame(state.frame + 1));
  $("undo").addEventListener("click", () => history("undo"));
  $("redo").addEventListener("click", () => history("redo"));
  $("render").addEventListener("click", startRender);
  $("cancel").addEventListener("click", () => api("POST", "/api/render/cancel"));
  $("play").addEventListener("click", playShot);
  $("stop").addEventListener("click", stopShot);
  $("size").addEventListener("input", () => { $("size-label").textContent = Number($("size").value).toFixed(3); });
  $("size").addEventListener("change", async () => {
    if (state.selected >= 0 && state.hints) {
      state.hints.points[state.selected].size = Number($("size").value);
      drawMarks();
      await saveHints(state.hints);
    }
  });
  $("picker").addEventListener("change", () => pickColor($("picker").value));
  $("delete-point").addEventListener("click", deleteSelected);
  $("clear-scribble").addEventListener("click", async () => {
    try { changed(await api("DELETE", `/api/scribbles/${state.frame}`)); await reloadHints(); loadScribble(state.frame, null); } catch (e) { status(e.message, true); }
  });
  $("reference-file").addEventListener("change", (ev) => { if (ev.target.files[0]) uploadReference(ev.target.files[0]); });
  $("clear-reference").addEventListener("click", async () => {
    if (state.hints) { delete state.hints.reference; await saveHints(state.hints); showReference(); }
  });

  for (const radio of document.querySelectorAll('input[name="tool"]')) {
    radio.addEventListener("change", () => { state.selected = -1; drawMarks(); });  // the picker then sets the brush only
  }

  const stage = $("stage");
  stage.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    if (tool() === "brush") {
      state.painting = true;
      stage.setPointerCapture(ev.pointerId);
      paintAt(ev);
      return;
    }
    const hit = ev.target.closest("rect.point");
    if (hit) {
      state.selected = Number(hit.dataset.i);
      state.drag = { moved: false };
      stage.setPointerCapture(ev.pointerId);
      const p = state.hints.points[state.selected];
      if (p.size) { $("size").value = p.size; $("size-label").textContent = p.size.toFixed(3); }
      drawMarks();
      fetchPalette(p);
      return;
    }
    const at = fractionAt(ev);
    addPoint(at).then(() => fetchPalette(at));
  });
  stage.addEventListener("pointermove", (ev) => {
    if (state.painting) { paintAt(ev); return; }
    if (state.drag && state.selected >= 0) {
      const at = fractionAt(ev);
      Object.assign(state.hints.points[state.selected], at);
      state.drag.moved = true;
      drawMarks();
    }
  });
  stage.addEventListener("pointerup", async () => {
    if (state.painting) { state.painting = false; await saveScribble(); return; }
    if (state.drag) {
      const moved = state.drag.moved;
      state.drag = null;
      if (moved) { await saveHints(state.hints); fetchPalette(state.hints.points[state.selected]); }
    }
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
    const key = ev.key.toLowerCase();
    if ((ev.ctrlKey || ev.metaKey) && key === "z") { ev.preventDefault(); history(ev.shiftKey ? "redo" : "undo"); }
    else if ((ev.ctrlKey || ev.metaKey) && key === "y") { ev.preventDefault(); history("redo"); }
    else if (key === "delete" || key === "backspace") { if (state.selected >= 0) { ev.preventDefault(); deleteSelected(); } }
    else if (key === "arrowleft" && ev.target.id !== "scrub") loadFrame(state.frame - 1);
    else if (key === "arrowright" && ev.target.id !== "scrub") loadFrame(state.frame + 1);
  });
}

async function deleteSelected() {
  if (state.selected < 0 || !state.hints) return;
  state.hints.points.splice(state.selected, 1);
  state.selected = -1;
  drawMarks();
  await saveHints(state.hints);
}

async function start() {
  bind();
  // Frame 0's preview is asked for at once, beside the film's metadata (warms the cache).
  const first = new Image();
  first.src = url("/api/frames/0/preview", { v: 0, s: 1 });
  const [film, hints] = await Promise.all([api("GET", "/api/film"), api("GET", "/api/hints")]);
  state.film = film;
  $("film-name").textContent = `${state.film.name} · ${state.film.width}×${state.film.height}`;
  $("stage").style.aspectRatio = `${state.film.width} / ${state.film.height}`;
  $("scrub").max = Math.max(0, (state.film.frames || 1) - 1);
  $("undo").disabled = !state.film.can_undo;
  $("redo").disabled = !state.film.can_redo;
  setView("color");
  state.hintFrames = hints.frames;
  await loadFrame(0);
  loadShots();
  const render = await api("GET", "/api/render");
  if (render.state === "running") pollRender();
}

start().catch((e) => status(e.message, true));
