// Admin pages: build an item's value from its form, try it first, apply it, restore versions.
// Every change goes through the JSON API, so the page meets exactly the API's checks.
"use strict";

(function () {
  function api(method, path, body) {
    return window.switchboard.api(method, path, body);
  }

  function scalar(text) {
    if (text === "true") return true;
    if (text === "false") return false;
    const number = Number(text);
    return text !== "" && Number.isFinite(number) ? number : text;
  }

  // A field's text as the value the config expects; the server says when it is wrong.
  function parse(text, kind) {
    if (kind === "number") return scalar(text);
    if (kind === "bool") return text === "true";
    if (kind === "list") {
      return text.split(",").map((part) => part.trim()).filter((part) => part !== "");
    }
    return text;
  }

  // Text typed in an "add a field" row: a number, true/false, [a, b] or text.
  function parseLoose(text) {
    if (text.startsWith("[") && text.endsWith("]")) {
      return text.slice(1, -1).split(",").map((part) => part.trim()).filter((part) => part !== "")
        .map(scalar);
    }
    return scalar(text);
  }

  function setIn(target, path, value) {
    let current = target;
    path.forEach((key, index) => {
      if (index === path.length - 1) {
        current[key] = value;
        return;
      }
      if (current[key] === undefined || current[key] === null || typeof current[key] !== "object") {
        current[key] = typeof path[index + 1] === "number" ? [] : {};
      }
      current = current[key];
    });
  }

  // Emptied list entries leave holes; drop them so the list is what the person sees.
  function compact(value) {
    if (Array.isArray(value)) return value.filter((item) => item !== undefined).map(compact);
    if (value && typeof value === "object") {
      const result = {};
      for (const [key, inner] of Object.entries(value)) result[key] = compact(inner);
      return result;
    }
    return value;
  }

  function collect(form) {
    const value = {};
    for (const input of form.querySelectorAll("#fields [data-path]")) {
      const text = input.value.trim();
      if (text === "") continue;
      setIn(value, JSON.parse(input.dataset.path), parse(text, input.dataset.kind));
    }
    for (const row of form.querySelectorAll(".extra-field")) {
      const path = row.querySelector(".extra-path").value.trim();
      const text = row.querySelector(".extra-value").value.trim();
      if (path === "" || text === "") continue;
      const parts = path.split(".").map((part) => (/^[0-9]+$/.test(part) ? Number(part) : part));
      setIn(value, parts, parseLoose(text));
    }
    return compact(value);
  }

  function itemId(form) {
    const input = form.querySelector("#new-id");
    return input ? input.value.trim() : form.dataset.itemId;
  }

  function clearErrors(form) {
    for (const element of form.querySelectorAll(".field-error")) element.textContent = "";
    for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
    form.querySelector("#form-errors").replaceChildren();
    // An added field's errors go beside it: its slot answers to the path typed in its row.
    for (const row of form.querySelectorAll(".extra-field")) {
      const slot = row.querySelector(".field-error");
      const path = row.querySelector(".extra-path").value.trim();
      if (path) slot.dataset.errorFor = path;
      else delete slot.dataset.errorFor;
    }
  }

  function errorSlot(form, relative) {
    for (const element of form.querySelectorAll(".field-error")) {
      if (element.dataset.errorFor === relative) return element;
    }
    return null;
  }

  function childSlot(form, relative) {
    for (const element of form.querySelectorAll(".field-error")) {
      if ((element.dataset.errorFor || "").startsWith(relative + ".")) return element;
    }
    return null;
  }

  // Put each error beside its field; an error on a field without an input goes beside the
  // nearest enclosing one, or (a whole list or map) beside its first input, naming the path;
  // errors elsewhere in the config are listed above the form.
  function showErrors(form, fields) {
    const prefix = `${form.dataset.section}.${itemId(form)}`;
    const general = form.querySelector("#form-errors");
    for (const [key, message] of Object.entries(fields)) {
      let slot = null;
      let rest = "";
      if (key === prefix || key.startsWith(prefix + ".")) {
        let relative = key === prefix ? "" : key.slice(prefix.length + 1);
        const full = relative;
        while (slot === null) {
          slot = errorSlot(form, relative);
          if (slot !== null || relative === "") break;
          const cut = relative.lastIndexOf(".");
          relative = cut < 0 ? "" : relative.slice(0, cut);
        }
        rest = slot !== null && full !== relative ? full.slice(relative ? relative.length + 1 : 0) : "";
        if (slot === null && full !== "") {
          slot = childSlot(form, full);
          rest = full;
        }
      }
      if (slot === null) {
        const item = document.createElement("p");
        item.className = "error";
        item.textContent = `${key}: ${message}`;
        general.append(item);
        continue;
      }
      const line = rest ? `${rest}: ${message}` : message;
      slot.textContent = slot.textContent ? `${slot.textContent} ${line}` : line;
      const input = document.getElementById(slot.id.replace(/^e-/, "f-").replace(/^err-id$/, "new-id"));
      if (input) input.setAttribute("aria-invalid", "true");
    }
  }

  function percent(value, digits) {
    return value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)}%`;
  }

  function seconds(value) {
    return value === null || value === undefined ? "–" : `${value.toFixed(1)} s`;
  }

  function cell(tag, text) {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  function showTrial(container, result) {
    const table = document.createElement("table");
    table.className = "comparison";
    table.dataset.testid = "comparison";
    const callers = result.source === "last_day"
      ? `the last 24 hours' ${result.calls} callers from the event log`
      : `${result.minutes} min at ${result.calls_per_minute} calls/min (seed ${result.seed}): ` +
        `${result.calls} synthetic callers`;
    table.append(cell("caption", `Replayed ${callers}, the same callers for both.`));
    const head = document.createElement("thead");
    const names = ["Queue", "Service level now", "Service level proposed", "ASA now", "ASA proposed",
      "Abandon rate now", "Abandon rate proposed"];
    const headRow = document.createElement("tr");
    for (const name of names) {
      const th = cell("th", name);
      th.scope = "col";
      headRow.append(th);
    }
    head.append(headRow);
    const body = document.createElement("tbody");
    for (const row of result.queues) {
      const tr = document.createElement("tr");
      tr.dataset.queue = row.queue_id;
      const th = cell("th", row.queue_id);
      th.scope = "row";
      tr.append(th);
      const now = row.current || {};
      const next = row.proposed || {};
      tr.append(
        cell("td", row.current ? percent(now.service_level, 0) : "(no queue)"),
        cell("td", row.proposed ? percent(next.service_level, 0) : "(removed)"),
        cell("td", seconds(now.asa_s)),
        cell("td", seconds(next.asa_s)),
        cell("td", percent(now.abandon_rate, 1)),
        cell("td", percent(next.abandon_rate, 1)),
      );
      body.append(tr);
    }
    table.append(head, body);
    const parts = [cell("h2", "Live config vs your change"), table];
    const warnings = Object.entries(result.warnings || {});
    if (warnings.length) {
      parts.push(cell("h3", "Staffing warnings (as check-config prints them)"));
      const list = document.createElement("ul");
      list.className = "warnings";
      for (const [key, message] of warnings) list.append(cell("li", `${key}: ${message}`));
      parts.push(list);
    }
    container.replaceChildren(...parts);
  }

  function failed(form, status, error) {
    if (error.fields && Object.keys(error.fields).length) showErrors(form, error.fields);
    status.className = "error";
    status.textContent = error.message;
  }

  function itemForm(form) {
    const status = form.querySelector("#result");
    const trial = form.querySelector("#trial");
    const section = form.dataset.section;

    form.querySelector("#add-field").addEventListener("click", () => {
      const row = document.createElement("div");
      row.className = "extra-field inline-fields";
      const count = form.querySelectorAll(".extra-field").length + 1;
      const pathLabel = cell("label", `Field path ${count} `);
      const path = document.createElement("input");
      path.className = "extra-path";
      path.autocomplete = "off";
      pathLabel.append(path);
      const valueLabel = cell("label", `Value ${count} `);
      const value = document.createElement("input");
      value.className = "extra-value";
      value.id = `f-extra-${count}`;
      value.autocomplete = "off";
      value.setAttribute("aria-describedby", `e-extra-${count}`);
      valueLabel.append(value);
      const error = document.createElement("p");
      error.className = "field-error";
      error.id = `e-extra-${count}`;
      row.append(pathLabel, valueLabel, error);
      form.querySelector("#extra-fields").append(row);
      path.focus();
    });

    form.querySelector("#try-it").addEventListener("click", async () => {
      clearErrors(form);
      status.textContent = "";
      status.className = "";
      trial.replaceChildren(cell("p", "Simulating…"));
      try {
        const result = await api("POST", "/api/admin/trials", {
          section,
          item_id: itemId(form),
          value: collect(form),
          minutes: Number(form.querySelector("#trial-minutes").value),
          calls_per_minute: Number(form.querySelector("#trial-rate").value),
          seed: Number(form.querySelector("#trial-seed").value),
          source: form.querySelector("#trial-source").value,
        });
        showTrial(trial, result);
      } catch (error) {
        trial.replaceChildren();
        failed(form, status, error);
      }
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      status.className = "";
      const id = itemId(form);
      if (!id) {
        form.querySelector("#err-id").textContent = "missing; an id is required";
        form.querySelector("#new-id").setAttribute("aria-invalid", "true");
        return;
      }
      try {
        const version = await api("PUT", `/api/admin/config/${section}/${encodeURIComponent(id)}`, {
          value: collect(form),
          base_version: Number(form.dataset.baseVersion),
        });
        form.dataset.baseVersion = String(version.id);
        status.textContent = `Saved as version ${version.id} and applied.`;
      } catch (error) {
        failed(form, status, error);
      }
    });

    const remove = form.querySelector("#remove");
    if (remove) {
      remove.addEventListener("click", async () => {
        if (!window.confirm(`Remove ${section}.${form.dataset.itemId}?`)) return;
        clearErrors(form);
        try {
          const path = `/api/admin/config/${section}/${encodeURIComponent(form.dataset.itemId)}`;
          const version = await api("DELETE", `${path}?base_version=${form.dataset.baseVersion}`);
          status.className = "";
          status.textContent = `Removed: saved as version ${version.id} and applied.`;
          form.dataset.baseVersion = String(version.id);
        } catch (error) {
          failed(form, status, error);
        }
      });
    }
  }

  function importForm(form) {
    const status = document.getElementById("import-result");
    const list = document.getElementById("import-errors");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      list.replaceChildren();
      status.className = "";
      try {
        const version = await api("PUT", "/api/admin/config", {
          yaml: form.querySelector("#import-yaml").value,
          base_version: Number(form.dataset.baseVersion),
        });
        form.dataset.baseVersion = String(version.id);
        status.textContent = `Imported as version ${version.id} and applied.`;
      } catch (error) {
        status.className = "error";
        status.textContent = error.message;
        for (const [key, message] of Object.entries(error.fields || {})) {
          list.append(cell("li", `${key}: ${message}`));
        }
      }
    });
  }

  function restoreButtons() {
    const status = document.getElementById("restore-result");
    for (const button of document.querySelectorAll("button.restore")) {
      button.addEventListener("click", async () => {
        try {
          await api("POST", `/api/admin/versions/${button.dataset.version}/restore`);
          window.location.reload();
        } catch (error) {
          status.className = "error";
          status.textContent = error.message;
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const item = document.getElementById("item-form");
    if (item) itemForm(item);
    const imported = document.getElementById("import-form");
    if (imported) importForm(imported);
    restoreButtons();
  });
})();
