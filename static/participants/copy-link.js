// Copy buttons of the join-link list. Without JavaScript the buttons stay hidden and the address
// stays selectable in its read-only field; with it, a click copies the address and says so.
(function () {
  "use strict";
  var script = document.currentScript;
  var copied = (script && script.getAttribute("data-copied")) || "Copied.";
  var status = document.getElementById("copy-status");

  function announce(text) {
    if (status) {
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }
  }

  document.querySelectorAll("input.join-link-url").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  if (!navigator.clipboard) {
    return;
  }
  document.querySelectorAll("button.copy-link").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(
        function () { announce(copied); },
        function () { input.focus(); input.select(); }
      );
    });
  });
})();
