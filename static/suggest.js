// Autocomplete for the search box: a progressive enhancement; the form works without it.
(function () {
  "use strict";
  function attach(input) {
    var list = document.createElement("ul");
    list.className = "suggestions";
    list.id = input.id + "-suggestions";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.parentNode.parentNode.appendChild(list);
    var timer = null;
    var lang = input.getAttribute("data-lang");
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2) { list.hidden = true; input.setAttribute("aria-expanded", "false"); return; }
      timer = setTimeout(function () {
        fetch(input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(text))
          .then(function (r) { return r.json(); })
          .then(function (data) {
            list.textContent = "";
            data.suggestions.forEach(function (s, i) {
              var item = document.createElement("li");
              item.setAttribute("role", "option");
              item.id = list.id + "-" + i;
              var link = document.createElement("a");
              link.href = "/" + lang + "/records/" + encodeURIComponent(s.id);
              link.textContent = s.title + (s.authors.length ? " — " + s.authors.join(", ") : "");
              link.lang = s.language;
              item.appendChild(link);
              list.appendChild(item);
            });
            list.hidden = data.suggestions.length === 0;
            input.setAttribute("aria-expanded", list.hidden ? "false" : "true");
          })
          .catch(function () { list.hidden = true; });
      }, 150);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll("input[data-suggest]");
    for (var i = 0; i < inputs.length; i++) { attach(inputs[i]); }
  });
})();
