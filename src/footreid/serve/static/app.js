// footreid demo: browse a run's queries, rankings (of the query's own action only) and
// search the gallery with an uploaded crop. Plain DOM code, no framework, no innerHTML
// with data (every text goes through textContent).
"use strict";

const state = {
  info: null, methodA: "", methodB: "", filter: "all", search: "", action: "",
  offset: 0, pageSize: 60, selected: null,
};
const $ = (id) => document.getElementById(id);

async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : response.statusText;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
const methodName = (slug) => (state.info.methods.find((m) => m.slug === slug) || {}).name || slug;

function crop(item, caption, cls) {
  return el("figure", {
    class: "item " + (cls || ""), "data-bbox": item.bbox_idx, "data-action": item.action_idx,
    title: `bbox ${item.bbox_idx} · action ${item.action_idx} · ${item.clazz} · person ${item.person_uid}`,
  }, el("img", { src: item.image, alt: `crop ${item.bbox_idx}`, loading: "lazy" }),
  el("figcaption", {}, ...caption));
}

async function init() {
  try {
    const info = await api("/api/info");
    state.info = info;
    state.methodA = info.best_method;
    $("run-info").textContent =
      `${info.run} · split ${info.split} · ${info.num_queries} queries in ${info.num_actions} actions`;
    for (const m of info.methods) {
      const label = `${m.name} (mAP ${pct(m.mAP)}, R1 ${pct(m.rank1)})`;
      $("method-a").append(el("option", { value: m.slug, textContent: label }));
      $("method-b").append(el("option", { value: m.slug, textContent: label }));
    }
    $("method-a").value = state.methodA;
    for (const m of info.models) {
      const label = m.upload ? m.name : `${m.name} (unavailable)`;
      $("upload-model").append(el("option", { value: m.name, textContent: label, disabled: !m.upload }));
    }
    if (info.upload_model) $("upload-model").value = info.upload_model;
    else $("upload-status").textContent = "Upload search is unavailable: " +
      info.models.map((m) => `${m.name}: ${m.reason}`).join("; ");
    for (const a of await api("/api/actions")) {
      $("action-select").append(el("option", {
        value: a.action_idx, textContent: `action ${a.action_idx} (${a.num_queries} q, ${a.num_gallery} g)`,
      }));
    }
    await loadQueries(true);
  } catch (err) {
    showError("Cannot load the run: " + err.message);
  }
}

async function loadQueries(reset) {
  if (reset) { state.offset = 0; $("query-list").replaceChildren(); }
  const params = new URLSearchParams({
    method: state.methodA, filter: state.filter, search: state.search,
    offset: state.offset, limit: state.pageSize,
  });
  if (state.action !== "") params.set("action", state.action);
  try {
    const page = await api("/api/queries?" + params);
    for (const q of page.items) {
      const mark = q.correct === null ? "no match" : (q.correct ? "✓ rank-1" : `✗ first match #${q.first_match_rank}`);
      const li = el("li", {
        class: "query-item " + (q.correct ? "ok" : "ko"), "data-bbox": q.bbox_idx,
        "data-action": q.action_idx, tabIndex: 0,
      }, el("img", { src: q.image, alt: `query ${q.bbox_idx}`, loading: "lazy" }),
      el("div", {}, el("strong", {}, `#${q.bbox_idx}`), ` action ${q.action_idx}`, el("br"),
        `${q.clazz} · AP ${q.ap === null ? "–" : q.ap.toFixed(2)}`, el("br"), mark));
      li.addEventListener("click", () => selectQuery(q.bbox_idx));
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") selectQuery(q.bbox_idx); });
      $("query-list").append(li);
    }
    state.offset += page.items.length;
    $("query-count").textContent = `${page.total} queries match`;
    $("more").hidden = state.offset >= page.total;
    showError("");
  } catch (err) {
    showError("Cannot list the queries: " + err.message);
  }
}

async function renderRanking(target, slug, bbox) {
  const box = $(target);
  box.hidden = false;
  box.replaceChildren(el("p", { class: "muted" }, "ranking…"));
  const r = await api(`/api/rank?method=${encodeURIComponent(slug)}&query=${bbox}`);
  const items = r.items.map((g) => crop(g,
    [el("b", {}, `#${g.rank}`), ` d=${g.distance.toFixed(3)}`], g.match ? "match" : "wrong"));
  items.forEach((node, i) => node.setAttribute("data-match", r.items[i].match));
  box.replaceChildren(
    el("h3", {}, methodName(slug)),
    el("p", { class: "muted" }, `action ${r.action_idx}: ${r.num_gallery} gallery crops · AP ` +
      (r.ap === null ? "–" : r.ap.toFixed(3)) + ` · first match at #${r.first_match_rank ?? "–"}`),
    el("div", { class: "gallery", "data-action": r.action_idx }, ...items));
}

async function selectQuery(bbox) {
  state.selected = bbox;
  document.querySelectorAll(".query-item.selected").forEach((n) => n.classList.remove("selected"));
  const li = document.querySelector(`.query-item[data-bbox="${bbox}"]`);
  if (li) li.classList.add("selected");
  try {
    const jobs = [renderRanking("ranking-a", state.methodA, bbox)];
    if (state.methodB) jobs.push(renderRanking("ranking-b", state.methodB, bbox));
    else $("ranking-b").hidden = true;
    const q = (await api(`/api/rank?method=${encodeURIComponent(state.methodA)}&query=${bbox}&k=1`)).query;
    $("selected").replaceChildren(crop(q, [el("b", {}, "query")], "query"),
      el("div", { class: "details" }, el("h2", {}, `Query #${q.bbox_idx}`),
        el("p", {}, `action ${q.action_idx} · ${q.clazz} · person ${q.person_uid}`),
        el("p", { class: "muted" }, "Ranked against the replay crops of this action only.")));
    $("selected").setAttribute("data-action", q.action_idx);
    $("selected").setAttribute("data-bbox", q.bbox_idx);
    await Promise.all(jobs);
    showError("");
  } catch (err) {
    showError("Cannot rank this query: " + err.message);
  }
}

async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  const status = $("upload-status");
  $("upload-results").replaceChildren();
  if (!file) { status.textContent = "Choose an image file first."; return; }
  const form = new FormData();
  form.append("file", file);
  const params = new URLSearchParams({ model: $("upload-model").value, k: $("upload-k").value });
  status.textContent = "searching…";
  try {
    const r = await api("/api/search?" + params, { method: "POST", body: form });
    status.textContent = `${r.items.length} closest gallery crops with ${r.model} ` +
      `(${r.backend}, ${r.elapsed_ms} ms; score = cosine similarity, higher is closer)`;
    $("upload-results").replaceChildren(...r.items.map((g) => crop(g,
      [el("b", {}, `#${g.rank}`), ` s=${g.score.toFixed(3)}`, el("br"), `action ${g.action_idx}`], "found")));
  } catch (err) {
    status.textContent = "Upload refused: " + err.message;
  }
}

function wire() {
  $("method-a").addEventListener("change", (e) => {
    state.methodA = e.target.value;
    loadQueries(true);
    if (state.selected !== null) selectQuery(state.selected);
  });
  $("method-b").addEventListener("change", (e) => {
    state.methodB = e.target.value;
    if (state.selected !== null) selectQuery(state.selected);
  });
  $("action-select").addEventListener("change", (e) => { state.action = e.target.value; loadQueries(true); });
  let timer = null;
  $("query-search").addEventListener("input", (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.search = e.target.value; loadQueries(true); }, 250);
  });
  document.querySelectorAll('input[name="filter"]').forEach((radio) =>
    radio.addEventListener("change", (e) => { state.filter = e.target.value; loadQueries(true); }));
  $("more").addEventListener("click", () => loadQueries(false));
  $("upload-form").addEventListener("submit", upload);
}

document.addEventListener("DOMContentLoaded", () => { wire(); init(); });
