/* Gopy web chat: posts presses and texts to /chat/api/events and shows the replies as bubbles.
   No framework; texts are inserted with textContent only (never as HTML). */
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var ui = JSON.parse(document.getElementById("ui-strings").textContent);
  var lang = document.documentElement.lang || "vi";
  var log = document.getElementById("log");
  var main = document.querySelector("main");
  var notice = document.getElementById("notice");
  var hint = document.getElementById("hint");
  var form = document.getElementById("composer");
  var textarea = document.getElementById("text");
  var counter = document.getElementById("counter");
  var sendButton = document.getElementById("send");
  var privacyLink = document.getElementById("privacy-link");
  var contact = document.getElementById("contact");
  var screen = null;
  var current = [];
  var expect = null;
  var busy = false;
  var noticeTimer = null;

  function s(key, params) {
    var table = ui[lang] && key in ui[lang] ? ui[lang] : ui.vi;
    var text = key in table ? table[key] : key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }

  function applyChrome() {
    document.documentElement.lang = lang;
    document.title = s("title");
    document.querySelectorAll("[data-ui]").forEach(function (el) {
      el.textContent = s(el.getAttribute("data-ui"));
    });
    document.querySelectorAll("[data-ui-label]").forEach(function (el) {
      el.setAttribute("aria-label", s(el.getAttribute("data-ui-label")));
    });
    document.querySelectorAll("[data-ui-placeholder]").forEach(function (el) {
      el.setAttribute("placeholder", s(el.getAttribute("data-ui-placeholder")));
    });
    privacyLink.setAttribute("href", "/privacy?lang=" + encodeURIComponent(lang));
    contact.hidden = !s("contact");
    setPlaceholder();
    updateCounter();
  }

  function setPlaceholder() {
    /* the text box says what to type: an opinion, or a number or words to find a section or a place */
    var hintText = expect && expect.input_hint;
    textarea.setAttribute("placeholder", hintText || s("placeholder"));
    textarea.setAttribute("aria-label", hintText || s("input_label"));
  }

  function scrollDown() {
    main.scrollTop = main.scrollHeight;
  }

  function bubble(text, who) {
    var el = document.createElement("p");
    el.className = "bubble " + who;
    if (who !== "system") {
      var speaker = document.createElement("span");
      speaker.className = "visually-hidden";
      speaker.textContent = s(who === "me" ? "you" : "bot") + ": ";
      el.appendChild(speaker);
    }
    el.appendChild(document.createTextNode(text));
    log.appendChild(el);
    scrollDown();
    return el;
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () {
      notice.hidden = true;
    }, 4000);
  }

  function dropChoices() {
    /* answered buttons go away (as the bot drops its keyboards): only the current screen can be pressed */
    log.querySelectorAll(".choices").forEach(function (group) {
      group.remove();
    });
  }

  function choiceGroup(reply) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    reply.choices.forEach(function (row) {
      var line = document.createElement("div");
      line.className = "row";
      row.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = choice.label;
        button.addEventListener("click", function () {
          press(choice);
        });
        line.appendChild(button);
      });
      group.appendChild(line);
    });
    log.appendChild(group);
  }

  function setComposer(reply, hasChoices) {
    expect = reply;
    form.hidden = !reply;
    hint.hidden = !!reply;
    hint.setAttribute("data-ui", hasChoices ? "buttons_hint" : "restart_hint");
    hint.textContent = s(hint.getAttribute("data-ui"));
    textarea.rows = reply && !reply.max_length ? 1 : 3;
    form.classList.toggle("search", !!(reply && !reply.max_length));
    setPlaceholder();
    updateCounter();
  }

  function typedLength() {
    var value = textarea.value.normalize ? textarea.value.normalize("NFC") : textarea.value;
    return Array.from(value.replace(/\s+$/, "")).length;
  }

  function updateCounter() {
    if (!expect || !expect.max_length) {
      counter.textContent = "";
      sendButton.disabled = busy || typedLength() === 0;
      return;
    }
    var used = expect.used_length || 0;
    var typed = typedLength();
    var total = used && typed ? used + 2 + typed : used + typed;
    var over = total > expect.max_length;
    counter.textContent = over
      ? s("over_limit", { used: total, limit: expect.max_length })
      : s("counter", { used: total, limit: expect.max_length });
    counter.classList.toggle("over", over);
    textarea.setAttribute("aria-invalid", over ? "true" : "false");
    sendButton.disabled = busy || over || typed === 0;
  }

  function render(data) {
    if (data.lang && data.lang !== lang) {
      lang = data.lang;
      applyChrome();
    }
    if (data.replies && data.replies.length) {
      var active = document.activeElement;
      var keepFocus = active && active !== document.body && (log.contains(active) || active === textarea);
      dropChoices();
      var firstNew = null;
      var textReply = null;
      var hasChoices = false;
      current = [];
      data.replies.forEach(function (reply) {
        var added = bubble(reply.text, "bot");
        firstNew = firstNew || added;
        if (reply.choices.length) {
          choiceGroup(reply);
          hasChoices = true;
          current = [].concat.apply([], reply.choices);
        }
        textReply = reply.expects_text ? reply : textReply;
      });
      screen = data.screen;
      setComposer(textReply, hasChoices);
      scrollDown();
      var top = firstNew ? firstNew.getBoundingClientRect().top - main.getBoundingClientRect().top : 0;
      if (top < 0) {
        /* a long answer (the first screen's notice, a list): show its beginning, not its end */
        main.scrollTop += top - 8;
      }
      if (keepFocus) {
        /* the pressed button is gone: keyboard and screen-reader users go on from the new screen */
        var next = textReply ? textarea : log.querySelector(".choices button");
        if (next) {
          next.focus({ preventScroll: true });
        }
      }
    }
    if (data.notice) {
      showNotice(data.notice);
    }
  }

  function refusal(status, data) {
    if (status === 429) {
      return s("slow_down", { seconds: (data && data.error && data.error.retry_after) || 1 });
    }
    if (status === 403) {
      return s("csrf");
    }
    if (status === 413) {
      return s("too_large");
    }
    return s("error");
  }

  function post(body) {
    if (busy) {
      return Promise.resolve(false);
    }
    busy = true;
    sendButton.disabled = true;
    document.body.setAttribute("aria-busy", "true");
    return fetch("/chat/api/events", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (data) {
            if (!response.ok) {
              bubble(refusal(response.status, data), "system");
              return false;
            }
            if (data.csrf) {
              /* consent rotated the session (new HttpOnly cookie): the token follows the new id */
              csrf = data.csrf;
            }
            render(data);
            return true;
          });
      })
      .catch(function () {
        bubble(s("offline"), "system");
        return false;
      })
      .then(function (ok) {
        busy = false;
        document.body.removeAttribute("aria-busy");
        updateCounter();
        return ok;
      });
  }

  function press(choice) {
    if (busy) {
      return;
    }
    bubble(choice.label, "me");
    post({ kind: "choice", value: choice.data, screen: screen });
  }

  function command(name, label, args) {
    if (label) {
      bubble(label, "me");
    }
    return post({ kind: "command", value: name, args: args || "" });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textarea.value;
    if (!text.trim() || busy) {
      return;
    }
    bubble(text, "me");
    post({ kind: "text", value: text }).then(function (ok) {
      if (ok) {
        textarea.value = "";
        updateCounter();
      }
    });
  });

  textarea.addEventListener("input", updateCounter);
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.getElementById("menu-button").addEventListener("click", function () {
    command("menu", s("menu"));
  });
  document.getElementById("lang-button").addEventListener("click", function () {
    command("language", s("language"));
  });

  /* The browser's back button steps back one screen (the screen's own «Back», else the menu) instead of
     leaving the page: one history entry is kept above the page's own, and put back after each step. */
  function guardHistory() {
    if (!history.state || history.state.gopy !== "top") {
      history.replaceState({ gopy: "base" }, "");
      history.pushState({ gopy: "top" }, "");
    }
  }

  function choiceOf(data) {
    return current.filter(function (choice) {
      return choice.data === data;
    })[0];
  }

  window.addEventListener("popstate", function (event) {
    if (!event.state || event.state.gopy !== "base") {
      return;
    }
    var step = choiceOf("back") || choiceOf("menu");
    if (!step) {
      history.back(); /* nothing to step back to here: leave the page as the person asked */
      return;
    }
    history.pushState({ gopy: "top" }, "");
    if (!busy) {
      press(step);
    }
  });

  function start() {
    var params = new URLSearchParams(window.location.search);
    var payload = params.get("start") || "";
    fetch("/chat/api/history", { credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        if (data.replies && data.replies.length && !payload) {
          render(data);
        } else {
          if (data.lang) {
            lang = data.lang;
          }
          command("start", "", /^[A-Za-z0-9_-]{1,64}$/.test(payload) ? payload : "");
        }
      })
      .catch(function () {
        bubble(s("offline"), "system");
      });
  }

  applyChrome();
  guardHistory();
  start();
})();
