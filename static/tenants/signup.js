// The sign-up form: while the address of the space has not been typed by hand, it follows the
// organisation's name, made the way the server makes it (lower-case letters, digits, hyphens).
// Without JavaScript, an empty address is made from the name by the server.
(function () {
  "use strict";
  var name = document.getElementById("id_organization_name");
  var slug = document.getElementById("id_slug");
  if (!name || !slug) {
    return;
  }

  function suggest(text) {
    return text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^[^a-z]+/, "")
      .slice(0, 63)
      .replace(/-+$/, "");
  }

  var followed = slug.value === "" || slug.value === suggest(name.value);
  slug.addEventListener("input", function () {
    followed = slug.value === "";
  });
  name.addEventListener("input", function () {
    if (followed) {
      slug.value = suggest(name.value);
    }
  });
})();
