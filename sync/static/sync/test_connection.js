// "Test connection" on the Jira site form: posts the credentials as typed to the admin's check view (a blank
// token on a stored site means the stored one) and shows Jira's answer; nothing is saved.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("test-connection");
  const result = document.getElementById("test-connection-result");
  if (!button || !result) return;
  button.addEventListener("click", async () => {
    const form = button.closest("form");
    const body = new FormData();
    for (const name of ["csrfmiddlewaretoken", "base_url", "email", "api_token", "auth_kind"]) {
      const field = form.elements.namedItem(name);
      if (field) body.append(name, field.value);
    }
    body.append("site", button.dataset.site || "");
    result.textContent = "Testing…";
    result.className = "";
    try {
      const response = await fetch(button.dataset.url, { method: "POST", body, credentials: "same-origin" });
      const answer = await response.json();
      result.textContent = answer.message;
      result.className = answer.ok ? "success" : "errornote";
    } catch (error) {
      result.textContent = `The check could not be sent: ${error}`;
      result.className = "errornote";
    }
  });
});
