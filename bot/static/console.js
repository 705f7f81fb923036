// Live updates for the agent console: one EventSource on /console/events; the server sends
// small notifications and this script re-fetches the server-rendered (escaped) fragment.
// Message text is never assembled here, only HTML the server escaped with Jinja2.
(function () {
  "use strict";

  var body = document.body;
  var page = body.getAttribute("data-page");
  var target = Number(body.getAttribute("data-target") || "30");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function duration(seconds) {
    var total = Math.max(0, Math.round(seconds));
    if (total < 60) return total + " s";
    var minutes = Math.floor(total / 60), secs = total % 60;
    if (minutes < 60) return secs ? minutes + " min " + secs + " s" : minutes + " min";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  // Waiting times tick every second and turn red past the response target.
  function tick() {
    var cells = document.querySelectorAll('[data-since][data-answered="no"]');
    for (var i = 0; i < cells.length; i++) {
      var since = Date.parse(cells[i].getAttribute("data-since"));
      if (isNaN(since)) continue;
      var waited = (Date.now() - since) / 1000;
      cells[i].textContent = duration(waited);
      cells[i].classList.toggle("late", waited > target);
    }
  }
  setInterval(tick, 1000);

  function refresh(container) {
    if (!container) return;
    fetch(container.getAttribute("data-live"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var scroller = container.querySelector(".transcript");
        var atBottom = !scroller || scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 20;
        container.innerHTML = html; // server-rendered and autoescaped
        scroller = container.querySelector(".transcript");
        if (scroller && atBottom) scroller.scrollTop = scroller.scrollHeight;
        tick();
      })
      .catch(function () { /* the next event or a reload catches up */ });
  }

  function post(url, fields) {
    var form = new FormData();
    form.append("csrf_token", csrf);
    Object.keys(fields).forEach(function (key) { form.append(key, fields[key]); });
    return fetch(url, { method: "POST", body: form, credentials: "same-origin" });
  }

  var conversation = document.querySelector("[data-conversation]");
  var conversationId = conversation ? conversation.getAttribute("data-conversation") : null;
  var queue = document.getElementById("queue");
  var transcript = document.getElementById("transcript");
  var typingNote = document.getElementById("visitor-typing");
  var reply = document.getElementById("reply-text");

  var scroller = transcript && transcript.querySelector(".transcript");
  if (scroller) scroller.scrollTop = scroller.scrollHeight;

  // Agent typing indicator in the visitor's widget: on while typing, off after a pause.
  if (reply) {
    var typing = false, idle = null;
    var url = reply.getAttribute("data-typing");
    var stop = function () { if (typing) { typing = false; post(url, { typing: "false" }); } };
    reply.addEventListener("input", function () {
      if (!typing) { typing = true; post(url, { typing: "true" }); }
      clearTimeout(idle);
      idle = setTimeout(stop, 4000);
    });
    reply.form.addEventListener("submit", function () { clearTimeout(idle); typing = false; });
    reply.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); reply.form.requestSubmit(); }
    });
  }

  if (page !== "queue" && page !== "conversation") return;
  if (!window.EventSource) return;
  var hideTyping = null;
  var source = new EventSource("/console/events");
  source.addEventListener("conversation", function (event) {
    var data = JSON.parse(event.data);
    if (queue) refresh(queue);
    if (conversationId && data.id === conversationId) refresh(transcript);
  });
  source.addEventListener("queue", function (event) {
    var data = JSON.parse(event.data);
    if (queue) refresh(queue);
    // Someone else claimed or closed this chat: reload unless a reply is being written.
    if (conversationId && data.id === conversationId && conversation.getAttribute("data-status") !== data.status) {
      if (!reply || !reply.value) window.location.reload();
    }
  });
  source.addEventListener("typing", function (event) {
    var data = JSON.parse(event.data);
    if (!typingNote || data.id !== conversationId || data.role !== "visitor") return;
    typingNote.hidden = !data.typing;
    clearTimeout(hideTyping);
    if (data.typing) hideTyping = setTimeout(function () { typingNote.hidden = true; }, 8000);
  });
})();
