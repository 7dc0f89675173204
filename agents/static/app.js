// Switchboard page helpers: JSON API calls that carry the session's CSRF token.
"use strict";

(function () {
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  // Call the JSON API; state-changing methods send the X-CSRF-Token header.
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const upper = method.toUpperCase();
    if (!["GET", "HEAD", "OPTIONS"].includes(upper)) {
      const token = csrfToken();
      if (token) headers["X-CSRF-Token"] = token;
    }
    const init = { method: upper, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const data = response.status === 204 ? null : await response.json();
    if (!response.ok) {
      const error = new Error((data && data.error) || response.statusText);
      error.status = response.status;
      error.fields = (data && data.fields) || {};
      throw error;
    }
    return data;
  }

  window.switchboard = Object.freeze({ api, csrfToken });
})();
