// Autocomplete for the search box: a progressive enhancement; the form works without it.
// ARIA 1.2 combobox: the input owns a listbox of plain-text options; arrow keys move the
// active option (aria-activedescendant), Enter or a click opens the record.
(function () {
  "use strict";
  function attach(input) {
    var list = document.createElement("ul");
    var lang = input.getAttribute("data-lang");
    var options = [];
    var active = -1;
    var timer = null;
    list.className = "suggestions";
    list.id = input.id + "-suggestions";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.parentNode.parentNode.appendChild(list);

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function open(index) {
      window.location.href = "/" + lang + "/records/" + encodeURIComponent(options[index].id);
    }
    function select(index) {
      var items = list.children;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0) { input.setAttribute("aria-activedescendant", items[index].id); }
    }
    function show(suggestions) {
      list.textContent = "";
      options = suggestions;
      suggestions.forEach(function (s, i) {
        var item = document.createElement("li");
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.id = list.id + "-" + i;
        item.lang = s.language;
        item.textContent = s.title + (s.authors.length ? " — " + s.authors.join(", ") : "") +
          " (" + s.language + ")";
        item.addEventListener("mousedown", function (event) { event.preventDefault(); open(i); });
        list.appendChild(item);
      });
      if (suggestions.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); select(Math.min(active + 1, options.length - 1)); }
      else if (event.key === "ArrowUp") { event.preventDefault(); select(Math.max(active - 1, 0)); }
      else if (event.key === "Escape") { close(); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); open(active); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2) { close(); return; }
      timer = setTimeout(function () {
        fetch(input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(text))
          .then(function (r) { return r.json(); })
          .then(function (data) { show(data.suggestions); })
          .catch(close);
      }, 150);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll("input[data-suggest]");
    for (var i = 0; i < inputs.length; i++) { attach(inputs[i]); }
  });
})();
