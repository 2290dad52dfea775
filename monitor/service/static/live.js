// The live page: long-polls /api/live (the server answers as soon as a frame is processed) and draws it.
// Plain DOM, no library, no build step. Every text from the server goes in through textContent.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const MAX_POINTS = 4000;
  const state = { version: 0, polled: false, run: null, points: [], events: "" };
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const fmt = (v, d) => (v === null || v === undefined ? "—" : d === undefined ? String(v) : Number(v).toFixed(d));

  function text(id, value) {
    const el = $(id);
    if (el.textContent !== value) el.textContent = value;
  }

  function node(name, attrs, content) {
    const el = name.startsWith("svg:") ? document.createElementNS(SVG, name.slice(4)) : document.createElement(name);
    for (const key in attrs || {}) el.setAttribute(key, attrs[key]);
    if (content !== undefined) el.append(content);
    return el;
  }

  function read(field) {
    if (!field) return "";
    const note = field.error || field.warning;
    return `read “${field.raw}” ${Math.round(field.confidence * 100)} %` + (note ? ` ⚠ ${note}` : "");
  }

  function drawBoxes(boxes) {
    const img = $("frame");
    const svg = $("boxes");
    svg.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
    svg.replaceChildren();
    for (const [name, colour] of [["sample", "#2c2"], ["overlay", "#fb0"]]) {
      const b = boxes[name];
      if (!b) continue;
      svg.append(node("svg:rect", { x: b.x, y: b.y, width: b.width, height: b.height, fill: "none",
        stroke: colour, "stroke-width": 2, "vector-effect": "non-scaling-stroke" }));
    }
  }

  // series: [column in a point, scale, css class]; gaps (null) break the line.
  function chart(id, rangeId, series, fixed) {
    const svg = $(id);
    svg.replaceChildren();
    const pts = state.points;
    if (pts.length < 2) return;
    const t0 = pts[0][1];
    const t1 = Math.max(pts[pts.length - 1][1], t0 + 1);
    let [lo, hi] = fixed || [Infinity, -Infinity];
    if (!fixed) {
      for (const p of pts) for (const [c, k] of series) if (p[c] !== null) { lo = Math.min(lo, p[c] * k); hi = Math.max(hi, p[c] * k); }
    }
    if (!isFinite(lo)) return;
    if (hi - lo < 1) { hi += 1; lo -= 1; }
    for (const [c, k, css] of series) {
      let line = [];
      const flush = () => { if (line.length > 1) svg.append(node("svg:polyline", { points: line.join(" "), class: css })); line = []; };
      for (const p of pts) {
        if (p[c] === null) { flush(); continue; }
        line.push(`${(((p[1] - t0) / (t1 - t0)) * 600).toFixed(1)},${(200 - ((p[c] * k - lo) / (hi - lo)) * 200).toFixed(1)}`);
      }
      flush();
    }
    text(rangeId, `${fmt(t0, 0)}–${fmt(t1, 0)} s, ${fmt(lo, 0)}…${fmt(hi, 0)}`);
  }

  function renderEvents(events) {
    const key = JSON.stringify(events);
    if (key === state.events) return;
    state.events = key;
    const rows = events.map((e) => {
      const row = node("tr", { class: e.alert ? "bad" : "" }, node("td", {}, e.type));
      for (const v of [fmt(e.time_s), fmt(e.t1_c), fmt(e.confidence, 2)]) row.append(node("td", {}, v));
      row.append(node("td", {}, node("a", { href: e.snapshot }, node("img", { src: e.snapshot, alt: e.file }))));
      return row;
    });
    $("events").replaceChildren(...(rows.length ? rows : [node("tr", {}, node("td", { colspan: 5, class: "muted" }, "none yet"))]));
    const alerts = events.filter((e) => e.alert);
    $("alert").hidden = !alerts.length;
    text("alert", alerts.map((e) => `ALERT: ${e.type.replace(/_/g, " ")} at ${fmt(e.time_s)} s, 1# ${fmt(e.t1_c)} °C`).join(" · "));
  }

  function renderFrame(doc) {
    if (doc.reset || state.run !== doc.run.id) state.points = [];
    state.run = doc.run.id;
    state.points.push(...doc.points);
    if (state.points.length > MAX_POINTS) state.points.splice(0, state.points.length - MAX_POINTS);
    const f = doc.frame;
    const o = doc.overlay || {};
    text("run", `${doc.run.rig} · ${doc.run.name}`);
    text("stage", f.stage);
    text("v-stage", f.stage);
    text("v-time", fmt(f.time_s));
    text("r-time", read(o.time));
    text("v-t1", fmt(f.t1_c));
    text("r-t1", read(o.t1));
    text("v-t2", fmt(f.t2_c));
    text("r-t2", read(o.t2));
    text("v-t1img", fmt(f.t1_image_c, 1));
    text("v-fraction", f.crystal_fraction === null ? "—" : `${(f.crystal_fraction * 100).toFixed(1)} %`);
    text("v-progress", fmt(f.progress_pct, 1));
    text("v-flags", f.flags.length ? f.flags.join("; ") : "none");
    text("file", f.file);
    const img = $("frame");
    if (doc.image && img.getAttribute("src") !== doc.image) {
      img.onload = () => drawBoxes(doc.boxes);
      img.src = doc.image;
    }
    $("forecast").hidden = !f.forecast;
    if (f.forecast) {
      text("forecast-text", `+${f.forecast.horizon_s} s: sample mean ${fmt(f.forecast.mean, 1)}, change ${fmt(f.forecast.change, 1)}`);
      $("forecast-img").hidden = !doc.forecast_image;
      if (doc.forecast_image) $("forecast-img").src = doc.forecast_image;
    }
    renderEvents(doc.events);
    chart("chart-t", "range-t", [[2, 1, "c0"], [3, 1, "c1"], [4, 1, "c2"]]);
    chart("chart-x", "range-x", [[5, 100, "c0"], [6, 1, "c2"]], [0, 100]);
  }

  function renderHealth(doc) {
    const h = doc.health;
    text("ready", h.ready ? "ready" : "not ready");
    $("ready").className = `pill ${h.ready ? "ok" : "bad"}`;
    $("reasons").replaceChildren(...h.reasons.map((r) => node("li", { class: "bad" }, r)));
    $("sinks").replaceChildren(...doc.sinks.map((s) => {
      const row = node("tr", {}, node("td", {}, s.name));
      row.append(node("td", { class: s.ok ? "ok" : "bad" }, s.detail));
      for (const v of [s.written, s.queued, s.failed, s.dropped]) row.append(node("td", {}, String(v)));
      return row;
    }));
  }

  async function pollLive() {
    for (;;) {
      try {
        const query = state.polled ? `?since=${state.version}&run=${encodeURIComponent(state.run || "")}&wait=1` : "";
        const answer = await fetch(`/api/live${query}`, { cache: "no-store" });
        if (!answer.ok) throw new Error(answer.status === 401 ? "token needed: open /?token=… once" : `HTTP ${answer.status}`);
        const doc = await answer.json();
        if (doc.run) renderFrame(doc);
        if (doc.health) renderHealth(doc);
        state.version = doc.version;
        state.polled = true;
        text("updated", new Date().toLocaleTimeString());
      } catch (error) {
        text("ready", String(error.message || error));
        $("ready").className = "pill bad";
        await sleep(2000);
      }
    }
  }

  async function pollRuns() {
    for (;;) {
      try {
        const answer = await fetch("/api/runs", { cache: "no-store" });
        if (answer.ok) {
          const runs = (await answer.json()).runs;
          $("runs").replaceChildren(...runs.map((r) => {
            const row = node("tr", {}, node("td", { title: r.id }, r.name));
            row.append(node("td", {}, String(r.frames)), node("td", {}, `${fmt(r.first_time_s, 0)}–${fmt(r.last_time_s, 0)}`));
            row.append(node("td", {}, new Date((r.started_at + r.first_time_s) * 1000).toLocaleString()));
            const links = node("td");
            for (const name in r.links) links.append(node("a", { href: r.links[name] }, name), " ");
            row.append(links);
            return row;
          }));
        }
      } catch (error) { /* the live poll reports an unreachable service */ }
      await sleep(10000);
    }
  }

  pollLive();
  pollRuns();
})();
