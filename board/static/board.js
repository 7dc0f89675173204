// The live supervisor board: renders the frames of /supervisor/board/ws (at most one a second).
"use strict";

(function () {
  const queueRows = document.getElementById("queue-rows");
  const agentRows = document.getElementById("agent-rows");
  const callRows = document.getElementById("call-rows");
  const status = document.getElementById("board-status");
  const errorBox = document.getElementById("board-error");
  const whyPanel = document.getElementById("why-panel");
  let retry = 1000;

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.round(seconds);
    const m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }
  function percent(value) {
    return value === null || value === undefined ? "–" : Math.round(value * 100) + "%";
  }
  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }
  function button(td, label, action, id, subject) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    // Many rows have the same buttons: the accessible name says whose row it is.
    b.setAttribute("aria-label", label + " " + subject);
    b.dataset.action = action;
    b.dataset.id = id;
    td.appendChild(b);
  }

  function renderQueues(queues) {
    const rows = queues.map(function (q) {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.id;
      if (q.breach) tr.className = "breach";
      const name = cell(tr, q.name, "text");
      if (q.breach) {
        const flag = document.createElement("span");
        flag.className = "breach-flag";
        flag.textContent = "below target";
        name.appendChild(flag);
      }
      cell(tr, q.waiting);
      cell(tr, duration(q.longest_wait_s));
      cell(tr, duration(q.ewt_s));
      cell(tr, percent(q.sl_today));
      cell(tr, percent(q.sl_30m));
      cell(tr, percent(q.sl_target) + " in " + q.sl_threshold_s + " s");
      cell(tr, percent(q.abandon_rate));
      cell(tr, duration(q.asa_s));
      cell(tr, duration(q.aht_s));
      cell(tr, q.agents.ready);
      cell(tr, q.agents.on_call);
      cell(tr, q.agents.wrap_up);
      cell(tr, q.agents.not_ready);
      return tr;
    });
    queueRows.replaceChildren.apply(queueRows, rows);
  }

  function renderAgents(agents) {
    const rows = agents.map(function (a) {
      const tr = document.createElement("tr");
      tr.dataset.agent = a.id;
      cell(tr, a.name, "text");
      cell(tr, a.state.replace("_", " "), "text state-" + a.state);
      cell(tr, duration(a.in_state_s));
      cell(tr, a.reason_code, "text");
      cell(tr, a.call_id, "text");
      cell(tr, a.customer, "text");
      cell(tr, a.queue_id, "text");
      cell(tr, a.handled);
      const actions = cell(tr, "", "text");
      if (a.state !== "logged_out") {
        if (a.state !== "not_ready") button(actions, "Not ready", "not-ready", a.id, a.name);
        button(actions, "Log out", "logout", a.id, a.name);
      }
      return tr;
    });
    agentRows.replaceChildren.apply(agentRows, rows);
  }

  function renderCalls(calls, total) {
    const rows = calls.map(function (c) {
      const tr = document.createElement("tr");
      tr.dataset.call = c.id;
      cell(tr, c.id, "text");
      cell(tr, c.queue_id, "text");
      cell(tr, c.state, "text");
      cell(tr, c.agent_id, "text");
      cell(tr, duration(c.waited_s));
      button(cell(tr, "", "text"), "Why?", "why", c.id, "call " + c.id);
      return tr;
    });
    callRows.replaceChildren.apply(callRows, rows);
    document.getElementById("calls-note").textContent =
      total > calls.length ? "Showing the " + calls.length + " longest-waiting of " + total + "." : "";
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  async function onAction(event) {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const id = target.dataset.id;
    const action = target.dataset.action;
    try {
      showError("");
      if (action === "why") {
        const why = await window.switchboard.api("GET", "/api/board/calls/" + encodeURIComponent(id) + "/why");
        document.getElementById("why-title").textContent = "Why: call " + why.call_id;
        const steps = why.steps.map(function (s) {
          const li = document.createElement("li");
          li.textContent = s.at.slice(11) + " " + s.step + ": " + s.why;
          return li;
        });
        const list = document.getElementById("why-steps");
        list.replaceChildren.apply(list, steps);
        whyPanel.hidden = false;
      } else if (action === "not-ready") {
        await window.switchboard.api("POST", "/api/board/agents/" + encodeURIComponent(id) + "/not-ready", { reason_code: "supervisor" });
      } else if (action === "logout") {
        await window.switchboard.api("POST", "/api/board/agents/" + encodeURIComponent(id) + "/logout");
      }
    } catch (error) {
      showError(error.message);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/supervisor/board/ws");
    socket.onopen = function () { retry = 1000; };
    socket.onmessage = function (message) {
      const frame = JSON.parse(message.data);
      if (frame.type !== "board") return;
      renderQueues(frame.queues);
      renderAgents(frame.agents);
      renderCalls(frame.calls, frame.calls_total);
      status.textContent = "Live · updated " + frame.at.slice(11, 19) + " UTC";
    };
    socket.onclose = function (event) {
      if (event.code === 4401) {
        status.textContent = "Signed out: sign in again to see the board.";
        return;
      }
      status.textContent = "Reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  document.addEventListener("click", onAction);
  document.getElementById("why-close").addEventListener("click", function () { whyPanel.hidden = true; });
  connect();
})();
