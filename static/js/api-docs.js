"use strict";
// /api/docs/: Swagger UI over the API description chosen in the bar (templates/api/docs.html).
// Swagger UI's own top bar is not used: its logo carries an inline <style>, which the
// Content-Security-Policy refuses.
(function () {
  const choice = document.getElementById("schema-choice");

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }

  const ui = SwaggerUIBundle({
    url: choice.value,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" with the browser's session (no key) needs the CSRF token on writes.
    requestInterceptor: (request) => {
      if (request.method && request.method !== "GET" && csrfToken()) {
        request.headers["X-CSRFToken"] = csrfToken();
      }
      return request;
    },
  });

  choice.addEventListener("change", () => {
    ui.specActions.updateUrl(choice.value);
    ui.specActions.download(choice.value);
  });
})();
