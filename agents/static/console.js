// Agent console: renders the state frames of /agent/console/ws and acts through the JSON API.
"use strict";

(function () {
  const root = document.getElementById("console");
  if (!root) return;
  const api = window.switchboard.api;
  const $ = (id) => document.getElementById(id);
  let state = JSON.parse(root.dataset.initial);
  let received = performance.now();
  let lastPop = null;
  let wrapCall = null;
  let targetsFor = null;
  let announced = null;
  let draftTimer = null;
  let draftSaving = false;  // a draft PUT is in flight
  let draftDirty = false;  // the form holds text the server has not been sent yet
  let audio = null;
  let stateFrames = 0;

  function text(el, value) { el.textContent = value == null ? "" : String(value); }
  function show(el, visible) { el.hidden = !visible; }
  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }
  function elapsed() { return (performance.now() - received) / 1000; }
  function focusCall(s) {
    if (s.call) return s.call.call_id;
    if (s.offer) return s.offer.call_id;
    if (s.wrap) return s.wrap.call_id;
    return null;
  }
  function say(message) { text($("announce"), message); }
  function fail(error) {
    const box = $("action-error");
    const fields = error.fields ? Object.values(error.fields).join("; ") : "";
    text(box, fields ? error.message + ": " + fields : error.message);
    show(box, true);
  }
  function ok() { show($("action-error"), false); }
  async function act(method, path, body) {
    try { const result = await api(method, path, body); ok(); return result; }
    catch (error) { fail(error); return undefined; }
  }

  // ------------------------------------------------------------------ rendering

  function render() {
    text($("agent-state"), state.state.replace("_", " ") +
      (state.reason_code && state.state === "not_ready" ? " (" + reasonName(state.reason_code) + ")" : ""));
    renderQueues();
    renderOffer();
    renderCall();
    renderWrap();
    renderPop();
    show($("idle-note"), !state.offer && !state.call && !state.wrap);
  }
  function reasonName(code) {
    const found = state.reason_codes.find((r) => r.id === code);
    return found ? found.name : code;
  }
  function renderQueues() {
    const list = $("queues");
    list.replaceChildren(...state.queues.map((q) => {
      const li = document.createElement("li");
      li.dataset.queue = q.id;
      const name = document.createElement("span");
      text(name, q.name);
      const count = document.createElement("strong");
      count.className = "waiting";
      text(count, q.waiting);
      li.append(name, " ", count, " waiting");
      return li;
    }));
  }
  function updateWaiting(waiting) {
    for (const q of state.queues) if (q.id in waiting) q.waiting = waiting[q.id];
    for (const li of $("queues").children) {
      const n = waiting[li.dataset.queue];
      if (n !== undefined) text(li.querySelector(".waiting"), n);
    }
  }
  function renderOffer() {
    const offer = state.offer;
    show($("offer"), !!offer);
    $("offer").classList.toggle("ringing", !!offer);
    if (!offer) { stopRing(); return; }
    text($("offer-queue"), offer.queue_name);
    show($("offer-actions"), !offer.auto_answer);
    show($("offer-auto"), offer.auto_answer);
    startRing();
    if (announced !== offer.call_id) say("Incoming call from queue " + offer.queue_name);
    announced = offer.call_id;
  }
  function renderCall() {
    const call = state.call;
    show($("on-call"), !!call);
    if (!call) return;
    show($("hold"), !call.on_hold);
    show($("resume"), call.on_hold);
    show($("hold-badge"), call.on_hold);
    if (call.call_id !== targetsFor) loadTargets(call.call_id);
  }
  async function loadTargets(callId) {
    targetsFor = callId;
    const targets = await act("GET", "/api/console/transfer-targets");
    if (!targets) return;
    const options = [];
    for (const q of targets.queues) options.push(option("queue:" + q.id, "Queue " + q.name));
    for (const a of targets.agents) options.push(option("agent:" + a.id, "Agent " + a.name));
    $("transfer-target").replaceChildren(...options);
  }
  function option(value, label) {
    const o = document.createElement("option");
    o.value = value;
    text(o, label);
    return o;
  }
  function renderWrap() {
    const wrap = state.wrap;
    show($("wrap-form"), !!wrap);
    if (!wrap) { wrapCall = null; return; }
    if (wrap.call_id === wrapCall) return;  // never overwrite what the agent is typing
    wrapCall = wrap.call_id;
    clearTimeout(draftTimer);  // a save still waiting was for the previous call's form
    draftTimer = null;
    draftDirty = false;
    const draft = wrap.draft;
    $("wrap-call").value = wrap.call_id;
    const select = $("disposition");
    select.replaceChildren(option("", "Choose…"), ...wrap.dispositions.map((d) => option(d.id, d.name)));
    select.value = draft.disposition || "";
    $("wrap-notes").value = draft.notes || "";
    $("case-subject").value = draft.case_subject || "";
    $("follow-up-at").value = draft.follow_up_at ? draft.follow_up_at.slice(0, 16) : "";
    text($("draft-status"), draft.notes || draft.disposition ? "Draft restored." : "");
  }
  function renderPop() {
    const focus = focusCall(state);
    let pop = state.pop;
    if (!pop && lastPop && (focus === null || lastPop.call_id === focus)) pop = lastPop;
    show($("pop-empty"), !pop);
    show($("pop-body"), !!(pop && pop.customer));
    show($("pop-candidates"), !!(pop && !pop.customer && pop.candidates.length));
    show($("pop-unknown"), !!(pop && !pop.customer && !pop.candidates.length));
    if (!pop) return;
    if (pop.customer) renderCustomer(pop.customer, pop.number);
    else if (pop.candidates.length) renderCandidates(pop);
    else text($("unknown-number"), pop.number || "(number withheld)");
  }
  function renderCustomer(c, number) {
    text($("pop-name"), c.name);
    const tier = $("pop-tier");
    tier.className = "tier tier-" + c.tier;
    text(tier, c.tier === "platinum" ? "VIP · platinum" : c.tier);
    text($("pop-number"), number || (c.numbers || [])[0] || "");
    text($("pop-account"), c.account_number || "—");
    text($("pop-company"), c.company || "—");
    const link = $("pop-crm");
    show(link, !!c.crm_url);
    if (c.crm_url) link.href = c.crm_url;
    list($("pop-cases"), c.open_cases, (k) => k.subject + " · " + k.status + " · " + k.priority, "No open cases.");
    list($("pop-history"), c.recent_interactions,
      (i) => (i.started_at || "").slice(0, 16).replace("T", " ") + " · " + (i.disposition || i.outcome || "") +
        (i.notes ? " · " + i.notes : ""), "No earlier contacts.");
    list($("pop-relationships"), c.relationships, (r) => r.kind.replace("_", " ") + ": " + r.name, "None known.");
    text($("pop-notes"), c.notes || "—");
  }
  function list(el, items, line, empty) {
    const rows = items.length ? items : [null];
    el.replaceChildren(...rows.map((item) => {
      const li = document.createElement("li");
      text(li, item ? line(item) : empty);
      return li;
    }));
  }
  function renderCandidates(pop) {
    $("candidate-list").replaceChildren(...pop.candidates.map((c) => {
      const li = document.createElement("li");
      const label = document.createElement("span");
      text(label, c.name + (c.company ? " (" + c.company + ")" : "") + " · " + c.tier);
      const pick = document.createElement("button");
      pick.type = "button";
      text(pick, "This is " + c.name);
      pick.addEventListener("click", () =>
        act("POST", "/api/console/customer/choose", { call_id: pop.call_id, customer_id: c.customer_id }));
      li.append(label, pick);
      return li;
    }));
  }

  // ------------------------------------------------------------------ timers and ring

  setInterval(() => {
    const e = elapsed();
    text($("in-state"), clock(state.in_state_s + e));
    if (state.offer) text($("offer-left"), Math.max(0, Math.ceil(state.offer.seconds_left - e)));
    if (state.call) text($("call-timer"), clock(state.call.talking_s + e));
  }, 250);

  function startRing() {
    if (audio) return;
    try {
      const context = new AudioContext();
      const beep = () => {
        const tone = context.createOscillator();
        const gain = context.createGain();
        gain.gain.value = 0.1;
        tone.frequency.value = 660;
        tone.connect(gain).connect(context.destination);
        tone.start();
        tone.stop(context.currentTime + 0.4);
      };
      beep();
      audio = { context, timer: setInterval(beep, 1500) };
    } catch (_error) {
      audio = null;  // no sound device: the visual cue still rings
    }
  }
  function stopRing() {
    if (!audio) return;
    clearInterval(audio.timer);
    audio.context.close();
    audio = null;
  }

  // ------------------------------------------------------------------ actions

  $("state-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const wanted = event.submitter ? event.submitter.value : "ready";
    const body = { state: wanted };
    if (wanted === "not_ready") body.reason_code = $("reason-code").value;
    const framesBefore = stateFrames;
    const next = await act("PUT", "/api/console/state", body);
    // The reply is the state when the server answered; a live frame that came meanwhile is as
    // new or newer (an offer right after Ready), so the reply must not overwrite it.
    if (next && stateFrames === framesBefore) apply(next);
  });
  $("accept").addEventListener("click", () =>
    state.offer && act("POST", "/api/console/offer/accept", { call_id: state.offer.call_id }));
  $("reject").addEventListener("click", () =>
    state.offer && act("POST", "/api/console/offer/reject", { call_id: state.offer.call_id }));
  $("hold").addEventListener("click", () =>
    state.call && act("POST", "/api/console/call/hold", { call_id: state.call.call_id }));
  $("resume").addEventListener("click", () =>
    state.call && act("POST", "/api/console/call/resume", { call_id: state.call.call_id }));
  $("hangup").addEventListener("click", () =>
    state.call && act("POST", "/api/console/call/hangup", { call_id: state.call.call_id }));
  $("transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!state.call) return;
    const [kind, id] = $("transfer-target").value.split(/:(.*)/s);
    const body = { call_id: state.call.call_id };
    body[kind === "queue" ? "queue_id" : "agent_id"] = id;
    act("POST", "/api/console/call/transfer", body);
  });
  $("new-customer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const call = focusCall(state);
    if (!call) return;
    const form = event.target;
    const body = { call_id: call, name: form.elements.name.value };
    if (form.elements.account_number.value) body.account_number = form.elements.account_number.value;
    if (form.elements.company.value) body.company = form.elements.company.value;
    const done = await act("POST", "/api/console/customer", body);
    if (done !== undefined) { form.reset(); say("Customer created."); }
  });

  function wrapBody() {
    const body = {
      call_id: $("wrap-call").value,
      notes: $("wrap-notes").value,
    };
    if ($("disposition").value) body.disposition = $("disposition").value;
    if ($("case-subject").value) body.case_subject = $("case-subject").value;
    if ($("follow-up-at").value) body.follow_up_at = $("follow-up-at").value;
    return body;
  }
  // One draft save at a time: two PUTs in flight may reach the server in either order (each
  // on its own connection), so the older text could be stored last and a reload would show
  // it. "Draft saved." is said only when the server holds what the form shows now.
  async function saveDraft() {
    draftTimer = null;
    if (draftSaving || !draftDirty) return;  // the save in flight sends the newer text next
    draftSaving = true;
    draftDirty = false;
    const body = wrapBody();
    const saved = await act("PUT", "/api/console/wrapup/draft", body);
    draftSaving = false;
    const typedMeanwhile = draftDirty;
    if (saved === undefined) draftDirty = true;  // unsaved: the next keystroke tries again
    if (typedMeanwhile) {
      if (draftTimer === null) saveDraft();  // else the waiting timer saves the newer text
      return;
    }
    if (saved !== undefined && body.call_id === wrapCall) text($("draft-status"), "Draft saved.");
  }
  $("wrap-form").addEventListener("input", () => {
    draftDirty = true;
    text($("draft-status"), "");  // what is shown now is not saved yet
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, 400);
  });
  $("wrap-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(draftTimer);
    draftTimer = null;
    draftDirty = false;
    const written = await act("POST", "/api/console/wrapup", wrapBody());
    if (written) say("Wrap-up saved.");
  });

  // ------------------------------------------------------------------ live link

  function apply(next) {
    const before = focusCall(state);
    state = next;
    received = performance.now();
    if (before !== null && focusCall(state) === null) lastPop = null;
    render();
  }
  let delay = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/agent/console/ws");
    const status = $("link-status");
    socket.addEventListener("open", () => {
      delay = 500;
      text(status, "Live");
      status.classList.remove("down");
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.kind === "state") { stateFrames += 1; apply(frame); }
      else if (frame.kind === "pop") { lastPop = frame.pop; renderPop(); }
      else if (frame.kind === "queues") updateWaiting(frame.waiting);
    });
    socket.addEventListener("close", (event) => {
      status.classList.add("down");
      if (event.code === 4401) { text(status, "Signed out"); return; }
      text(status, "Reconnecting…");
      // Back off to at most 5 s; the server resends the whole state on every connect.
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    });
  }
  render();
  connect();
})();
