/* Gopy web chat for a portal page: paste <script src="https://<gopy>/chat/embed.js" async></script>.
   Adds a button that opens the chat in a frame (the chat keeps its own cookie, CSRF token and CSP). */
(function () {
  "use strict";
  var chatUrl = __GOPY_CHAT_URL__;
  var openLabel = __GOPY_OPEN__;
  var closeLabel = __GOPY_CLOSE__;
  var title = __GOPY_TITLE__;
  var icon = __GOPY_ICON__;
  if (document.getElementById("gopy-chat-button")) {
    return;
  }
  var button = document.createElement("button");
  button.id = "gopy-chat-button";
  button.type = "button";
  var mark = document.createElement("img");
  mark.src = icon;
  mark.alt = "";
  mark.width = 24;
  mark.height = 24;
  mark.style.cssText = "width:24px;height:24px;border-radius:4px;background:#fff;flex-shrink:0";
  var label = document.createElement("span");
  label.textContent = openLabel;
  button.appendChild(mark);
  button.appendChild(label);
  button.title = title;
  button.setAttribute("aria-label", title);
  button.setAttribute("aria-expanded", "false");
  button.style.cssText =
    "position:fixed;right:16px;bottom:16px;z-index:2147483000;min-height:48px;padding:10px 16px;" +
    "display:flex;align-items:center;gap:8px;" +
    "border:0;border-radius:24px;background:#b3261e;color:#fff;font:600 16px system-ui,sans-serif;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.3);cursor:pointer";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "gopy-chat-frame";
      frame.title = title;
      frame.src = chatUrl;
      frame.style.cssText =
        "position:fixed;right:16px;bottom:76px;z-index:2147483000;width:min(400px,calc(100vw - 32px));" +
        "height:min(640px,calc(100vh - 100px));border:1px solid #ccc;border-radius:12px;background:#fff;" +
        "box-shadow:0 4px 16px rgba(0,0,0,.3)";
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    var open = !frame.hidden;
    label.textContent = open ? closeLabel : openLabel;
    button.setAttribute("aria-label", open ? closeLabel : title);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.body.appendChild(button);
})();
