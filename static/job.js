// A running job's page checks again every two seconds (without it, a link does the same).
(function () {
  var running = document.querySelector('#job[data-running="true"]');
  if (running) {
    setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
