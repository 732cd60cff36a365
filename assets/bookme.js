// bookme: starts Cal.com's inline embed from the data-* attributes of
// #cal-embed, so that the page needs no inline script and its CSP none.
// The fallback link is visible until the embed fills its container, and
// shown again when the embed script cannot load or reports linkFailed.
(function () {
  "use strict";
  var NAMESPACE = "bookme";
  var container = document.getElementById("cal-embed");
  var fallback = document.getElementById("cal-fallback");
  if (!container || !fallback) {
    return;
  }
  var data = container.dataset;
  var failed = false;

  // data-state on the container says how the embed went: "failed" or
  // "ready". It is there for styling and for the browser tests.
  function showFallback() {
    failed = true;
    container.setAttribute("data-state", "failed");
    fallback.hidden = false;
  }

  function watchContainer() {
    var hideWhenFilled = function () {
      if (!failed && container.childElementCount > 0) {
        container.setAttribute("data-state", "ready");
        fallback.hidden = true;
      }
    };
    new MutationObserver(hideWhenFilled).observe(container, { childList: true });
    hideWhenFilled();
  }

  // The queue that Cal.com's own loader snippet defines: calls made before
  // embed.js arrives are kept in Cal.q and Cal.ns[name].q and replayed by it.
  function installCal(scriptUrl) {
    var push = function (api, args) { api.q.push(args); };
    var Cal = function () {
      var args = arguments;
      if (!Cal.loaded) {
        Cal.ns = {};
        Cal.q = Cal.q || [];
        var script = document.createElement("script");
        script.src = scriptUrl;
        script.async = true;
        script.onerror = showFallback;
        document.head.appendChild(script);
        Cal.loaded = true;
      }
      if (args[0] === "init" && typeof args[1] === "string") {
        var api = function () { push(api, arguments); };
        api.q = [];
        Cal.ns[args[1]] = Cal.ns[args[1]] || api;
        push(Cal.ns[args[1]], args);
        push(Cal, ["initNamespace", args[1]]);
        return;
      }
      push(Cal, args);
    };
    window.Cal = window.Cal || Cal;
    return window.Cal;
  }

  function start() {
    var origin = data.calOrigin;
    var Cal = installCal(origin + "/embed/embed.js");
    Cal("init", NAMESPACE, { origin: origin });
    var cal = Cal.ns[NAMESPACE];
    var config = { layout: data.calLayout, theme: data.calTheme };
    config["metadata[lang]"] = data.calLang;
    cal("inline", { elementOrSelector: "#cal-embed", calLink: data.calLink, config: config });
    var ui = { theme: data.calTheme, layout: data.calLayout };
    if (data.calBrand) {
      ui.cssVarsPerTheme = {
        light: { "cal-brand": data.calBrand },
        dark: { "cal-brand": data.calBrand }
      };
    }
    cal("ui", ui);
    cal("on", { action: "linkFailed", callback: showFallback });
  }

  watchContainer();
  start();
})();
