// fastlive liveness check: the browser client of `fastlive serve` (an ES module, no build step).
//
//   import { mountLivenessCheck } from "https://liveness.example.com/client/fastlive-liveness.js";
//   const check = mountLivenessCheck(document.querySelector("#liveness"), {
//     server: "https://liveness.example.com",   // default: the page's own origin
//     ctx: loginAttemptId,                        // bound into the signed token
//   });
//   check.addEventListener("verdict", (e) => sendToYourBackend(e.detail.token));
//   await check.start();                          // after a click: opens the camera
//
// The camera frames are drawn to a canvas, JPEG-encoded and streamed to WS /v1/session as
// binary messages (8-byte little-endian float64 capture time in ms, then the JPEG); the
// server answers each frame with guidance and ends with a verdict holding a signed token that
// only the app's backend can check (fastlive.serve.verify_token). Protocol: docs/serve.md.

const DEFAULTS = {
  server: null, // origin of the fastlive server; null: this page's origin
  ctx: null, // the app's own id for this attempt (echoed in the token)
  fps: 15, // frames sent per second (at most; the server's max_fps caps it too)
  maxSide: 640, // frames are scaled down to this longest side
  quality: 0.85, // JPEG quality
  maxInFlight: 2, // frames sent but not yet answered
  messages: {}, // state or challenge kind -> text, to translate the server's messages
};

const ARROWS = { turn_left: "\u2190", turn_right: "\u2192", closer: "\u2195", blink: "\u25C9" };

function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function socketUrl(server) {
  const base = new URL(server || window.location.origin, window.location.href);
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  base.pathname = base.pathname.replace(/\/$/, "") + "/v1/session";
  base.search = "";
  return base;
}

export class LivenessCheck extends EventTarget {
  constructor(root, options = {}) {
    super();
    this.root = root;
    this.opts = { ...DEFAULTS, ...options };
    this.ws = null;
    this.stream = null;
    this.state = "idle"; // idle | starting | running | done | error
    this.inFlight = 0;
    this.lastTs = 0;
    this.lastSent = -Infinity;
    this.lastMediaTime = -1;
    this.verdict = null;
    this._build();
  }

  _build() {
    const r = this.root;
    r.classList.add("fl-root");
    r.replaceChildren();
    this.stage = el("div", "fl-stage");
    this.video = el("video", "fl-video", { playsinline: "", muted: "", autoplay: "" });
    this.video.muted = true;
    this.guide = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    this.guide.setAttribute("class", "fl-guide");
    this.guide.setAttribute("aria-hidden", "true");
    this.mask = document.createElementNS("http://www.w3.org/2000/svg", "path");
    this.mask.setAttribute("class", "fl-mask");
    this.mask.setAttribute("fill-rule", "evenodd");
    this.oval = document.createElementNS("http://www.w3.org/2000/svg", "ellipse");
    this.oval.setAttribute("class", "fl-oval");
    this.guide.append(this.mask, this.oval);
    this.prompt = el("div", "fl-prompt", { "aria-live": "polite", "data-fastlive": "prompt" });
    this.timer = el("div", "fl-timer");
    this.timerBar = el("div", "fl-timer-bar");
    this.timer.append(this.timerBar);
    this.stage.append(this.video, this.guide, this.prompt, this.timer);
    this.progress = el("progress", "fl-progress", { max: "1", value: "0",
                                                     "data-fastlive": "progress" });
    this.status = el("div", "fl-status", { "data-fastlive": "status" });
    this.result = el("div", "fl-verdict", { "data-fastlive": "verdict", role: "status" });
    this.result.hidden = true;
    r.append(this.stage, this.progress, this.status, this.result);
    this._layoutGuide(4, 3);
  }

  _layoutGuide(w, h) {
    const W = 1000 * (w / h), H = 1000;
    this.guide.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const cx = W / 2, cy = H / 2, ry = 0.36 * H, rx = 0.75 * ry;
    this.oval.setAttribute("cx", cx);
    this.oval.setAttribute("cy", cy);
    this.oval.setAttribute("rx", rx);
    this.oval.setAttribute("ry", ry);
    this.mask.setAttribute("d",
      `M0 0H${W}V${H}H0Z M${cx - rx} ${cy}a${rx} ${ry} 0 1 0 ${2 * rx} 0a${rx} ${ry} 0 1 0 ${-2 * rx} 0Z`);
    this.stage.style.aspectRatio = `${w} / ${h}`;
    this.stage.style.setProperty("--fl-aspect", String(w / h));
  }

  _text(key, fallback) {
    const t = this.opts.messages[key];
    return t === undefined ? fallback : t;
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  async start() {
    if (this.state === "starting" || this.state === "running") return this.verdictPromise;
    this.state = "starting";
    this.verdict = null;
    this.inFlight = 0;
    this.lastMediaTime = -1;
    this.result.hidden = true;
    this.result.removeAttribute("data-decision");
    this.progress.value = 0;
    this.root.dataset.state = "starting";
    this._setPrompt(this._text("starting", "Starting the camera\u2026"), null);
    this.verdictPromise = new Promise((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
      });
    } catch (err) {
      this._fail(this._text("camera", "The camera could not be opened: ") + (err.message || err));
      return this.verdictPromise;
    }
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => {});
    await new Promise((ok) => {
      if (this.video.videoWidth) ok();
      else this.video.addEventListener("loadedmetadata", ok, { once: true });
    });
    this._layoutGuide(this.video.videoWidth, this.video.videoHeight);
    this.canvas = document.createElement("canvas");
    const scale = Math.min(1, this.opts.maxSide / Math.max(this.video.videoWidth,
                                                           this.video.videoHeight));
    this.canvas.width = Math.round(this.video.videoWidth * scale);
    this.canvas.height = Math.round(this.video.videoHeight * scale);
    this.ctx2d = this.canvas.getContext("2d");
    this._open();
    return this.verdictPromise;
  }

  _open() {
    const url = socketUrl(this.opts.server);
    if (this.opts.ctx) url.searchParams.set("ctx", this.opts.ctx);
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.state = "running";
      this.root.dataset.state = "running";
      this._setPrompt(this._text("no_face", "Put your face in the oval"), null);
      this._loop();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this._onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.state === "running" || this.state === "starting") {
        this._fail(this._text("closed", "The connection closed: ") + (ev.reason || `code ${ev.code}`));
      }
      this._stopCamera();
    };
    ws.onerror = () => {};
  }

  _onMessage(msg) {
    if (msg.type === "hello") {
      this.sessionId = msg.session_id;
      const lim = msg.limits || {};
      if (lim.max_fps) this.opts.fps = Math.min(this.opts.fps, lim.max_fps / 2);
      this._emit("hello", msg);
    } else if (msg.type === "guidance") {
      this.inFlight = Math.max(0, this.inFlight - 1);
      this._showGuidance(msg);
      this._emit("guidance", msg);
    } else if (msg.type === "verdict") {
      this.verdict = msg;
      this.state = "done";
      this._showVerdict(msg);
      this._emit("verdict", msg);
      this._resolve(msg);
      this._stopCamera();
    } else if (msg.type === "error") {
      this._fail(msg.reason || "error");
    }
  }

  _setPrompt(text, kind) {
    this.prompt.textContent = kind && ARROWS[kind] ? `${ARROWS[kind]} ${text}` : text;
    this.prompt.dataset.kind = kind || "";
  }

  _showGuidance(g) {
    this.progress.value = g.progress || 0;
    this.root.dataset.phase = g.phase;
    this.root.dataset.guidance = g.state;
    const ch = g.challenge;
    if (g.state === "challenge" && ch) {
      this._setPrompt(this._text(ch.kind, g.message), ch.kind);
      this.timer.hidden = false;
      const left = ch.time_left_s ?? 0;
      this.timerBar.style.width = `${Math.max(0, Math.min(1, left / (ch.window_s || 6))) * 100}%`;
      this.status.textContent = `${ch.index} / ${ch.total}`;
    } else {
      this._setPrompt(this._text(g.state, g.message), null);
      this.timer.hidden = true;
      this.status.textContent = "";
    }
    this.oval.classList.toggle("fl-ok", ["hold_still", "checking", "challenge", "blink_please",
                                         "done"].includes(g.state));
  }

  _showVerdict(v) {
    const ok = v.decision === "LIVE";
    this.root.dataset.state = "done";
    this.result.hidden = false;
    this.result.dataset.decision = v.decision;
    this.result.textContent = ok ? this._text("verified", v.message)
                                 : this._text("not_verified", v.message);
    this._setPrompt(ok ? "\u2713" : "\u2715", null);
    this.progress.value = ok ? 1 : this.progress.value;
    this.timer.hidden = true;
  }

  _fail(reason) {
    if (this.state === "done" || this.state === "error") return;
    this.state = "error";
    this.root.dataset.state = "error";
    this.result.hidden = false;
    this.result.dataset.decision = "ERROR";
    this.result.textContent = reason;
    this._emit("error", { reason });
    this._stopCamera();
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000);
    if (this._reject) this._reject(new Error(reason));
  }

  _stopCamera() {
    if (this.stream) {
      // keep the last frame on screen instead of a black box
      if (this.canvas && this.canvas.width) this.video.poster = this.canvas.toDataURL("image/jpeg", 0.8);
      for (const t of this.stream.getTracks()) t.stop();
      this.video.srcObject = null;
    }
    this.stream = null;
  }

  /** Cancel: the server answers with an UNCERTAIN verdict ("cancelled by the client"). */
  cancel() {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ type: "cancel" }));
  }

  _loop() {
    const v = this.video;
    const tick = (now, meta) => {
      if (this.state !== "running") return;
      schedule();
      let ts = meta && Number.isFinite(meta.captureTime) && meta.captureTime > 0
        ? meta.captureTime : performance.now();
      if (meta && meta.mediaTime === this.lastMediaTime) return; // not a new camera frame
      if (ts <= this.lastTs) ts = this.lastTs + 0.001;
      if (ts - this.lastSent < 1000 / this.opts.fps - 4) return;
      if (this.inFlight >= this.opts.maxInFlight) return;
      if (meta) this.lastMediaTime = meta.mediaTime;
      this.lastTs = ts;
      this.lastSent = ts;
      this._send(ts);
    };
    const schedule = () => {
      if ("requestVideoFrameCallback" in v) v.requestVideoFrameCallback(tick);
      else setTimeout(() => tick(performance.now(), null), 1000 / (2 * this.opts.fps));
    };
    schedule();
  }

  _send(ts) {
    const c = this.canvas;
    this.ctx2d.drawImage(this.video, 0, 0, c.width, c.height);
    this.inFlight += 1;
    c.toBlob(async (blob) => {
      if (!blob || !this.ws || this.ws.readyState !== 1) {
        this.inFlight = Math.max(0, this.inFlight - 1);
        return;
      }
      const jpeg = new Uint8Array(await blob.arrayBuffer());
      const msg = new Uint8Array(8 + jpeg.length);
      new DataView(msg.buffer).setFloat64(0, ts, true);
      msg.set(jpeg, 8);
      if (this.ws.readyState === 1) this.ws.send(msg);
      else this.inFlight = Math.max(0, this.inFlight - 1);
    }, "image/jpeg", this.opts.quality);
  }

  stop() {
    this.state = "done";
    this._stopCamera();
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000);
  }
}

/** Build the check's UI inside `root` and return it (call `start()` after a user gesture). */
export function mountLivenessCheck(root, options = {}) {
  return new LivenessCheck(root, options);
}
