// The talk page: the microphone to the server as 16 kHz PCM over a WebSocket, the bot's audio
// back through a worklet player that stops the moment the server says "clear", and the call as
// it happens: the caller's transcripts, the bot's words, barge-ins and each turn's latency.

import { latencyBar, latencySteps, legend } from "./latency.js";

const $ = (id) => document.getElementById(id);
// What a test (or a curious developer) can read from the console.
const stats = (window.voxline = { callId: null, clears: 0, marks: 0, bargeIns: 0, turns: 0 });
let live = null; // the current session's audio graph and socket
let callerLine = null; // the caller's line still being transcribed
const replies = new Map(); // reply id -> the bot's line

function say(text, bad = false) {
  $("status").textContent = text;
  $("status").style.color = bad ? "var(--bad)" : "";
}

function line(who, label) {
  const el = document.createElement("div");
  el.className = `turn ${who}`;
  const name = document.createElement("span");
  name.className = "who";
  name.textContent = label;
  const text = document.createElement("div");
  text.className = "text";
  el.append(name, text);
  $("chat").append(el);
  el.scrollIntoView({ block: "nearest" });
  return { el, name, text };
}

function badge(target, text, cls) {
  target.name.querySelector(".badge")?.remove();
  if (!text) return;
  const b = document.createElement("span");
  b.className = `badge ${cls}`;
  b.textContent = text;
  target.name.append(b);
}

function onTranscript(kind, text) {
  if (!text.trim()) return;
  callerLine ??= line("caller live", "You");
  callerLine.text.textContent = text;
  if (kind === "final") {
    callerLine.el.classList.remove("live");
    callerLine = null;
  }
}

function botLine(reply) {
  if (!replies.has(reply)) replies.set(reply, line("bot", "Bot"));
  return replies.get(reply);
}

function onBotSaid(reply, text) {
  const seg = document.createElement("span");
  seg.className = "seg";
  seg.textContent = text + " ";
  botLine(reply).text.append(seg);
}

function onBotStopped(msg) {
  const target = replies.get(msg.reply);
  if (msg.how === "barge-in") {
    stats.bargeIns += 1;
    if (target) {
      target.el.classList.add("interrupted");
      badge(target, `interrupted after ${msg.after_ms} ms`, "cut");
    }
  } else if (target) {
    badge(target, "paused", "paused");
  }
}

function onTurn(msg) {
  stats.turns += 1;
  const target = replies.get(msg.reply);
  if (!target) return; // the reply never spoke (replaced or cancelled before its audio)
  if (msg.outcome === "interrupted") {
    target.el.classList.add("interrupted");
    if (!target.name.querySelector(".badge.cut")) badge(target, "interrupted", "cut");
    let heard = "";
    for (const seg of target.text.querySelectorAll(".seg")) {
      const said = seg.textContent.trim();
      const upto = heard ? `${heard} ${said}` : said;
      if (!msg.heard.startsWith(upto)) break;
      seg.classList.add("spoken");
      heard = upto;
    }
  } else if (target.name.querySelector(".badge.paused")) {
    badge(target, "", "");
  }
  const steps = msg.user !== null ? latencySteps(msg.timings) : null;
  if (steps) target.name.after(latencyBar(steps));
}

function onMessage(msg) {
  const player = live?.player;
  switch (msg.type) {
    case "started":
      stats.callId = msg.call_id;
      say(`Connected to ${msg.bot}. Go ahead and talk.`);
      break;
    case "mark":
      player?.port.postMessage({ type: "mark", name: msg.name });
      break;
    case "clear":
      stats.clears += 1;
      player?.port.postMessage({ type: "clear" });
      break;
    case "transcript":
      onTranscript(msg.kind, msg.text);
      break;
    case "speech":
      $("you").classList.toggle("on", msg.on);
      break;
    case "bot_said":
      onBotSaid(msg.reply, msg.text);
      break;
    case "bot_stopped":
      onBotStopped(msg);
      break;
    case "turn":
      onTurn(msg);
      break;
    case "trouble":
      say(`The ${msg.stage} backend failed; the bot may ask you to repeat.`, true);
      break;
    case "busy":
      say(msg.message, true);
      break;
    case "ended": {
      const end = document.createElement("div");
      end.className = "ended";
      end.innerHTML = `Call ended: ${msg.outcome}. <a href="/calls#${stats.callId}">See it on the calls page</a>`;
      $("chat").append(end);
      break;
    }
  }
}

function echoMark(name) {
  stats.marks += 1;
  if (live?.ws.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify({ type: "mark", name }));
}

async function start() {
  const button = $("start");
  button.disabled = true;
  say("Starting the microphone…");
  replies.clear();
  $("chat").replaceChildren();
  if (!window.isSecureContext || !navigator.mediaDevices) {
    say("The microphone needs a secure page: open it over https, or as http://localhost.", true);
    button.disabled = false;
    return;
  }
  let ctx;
  let mic;
  try {
    ctx = new AudioContext({ latencyHint: "interactive" });
    await ctx.audioWorklet.addModule("/web/audio-worklets.js");
    mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    await ctx.resume();
  } catch (err) {
    say(`Cannot use the microphone: ${err.message}`, true);
    ctx?.close();
    button.disabled = false;
    return;
  }
  const player = new AudioWorkletNode(ctx, "voxline-player", {
    numberOfInputs: 0,
    outputChannelCount: [1],
  });
  player.connect(ctx.destination);
  // Low-pass below 8 kHz before the worklet takes every third (or so) sample.
  let tail = ctx.createMediaStreamSource(mic);
  for (let i = 0; ctx.sampleRate > 16000 && i < 2; i++) {
    const lowpass = new BiquadFilterNode(ctx, { type: "lowpass", frequency: 7000, Q: 0.707 });
    tail.connect(lowpass);
    tail = lowpass;
  }
  const capture = new AudioWorkletNode(ctx, "voxline-capture", {
    numberOfOutputs: 0,
    channelCount: 1,
    channelCountMode: "explicit",
  });
  tail.connect(capture);

  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/talk/ws`);
  ws.binaryType = "arraybuffer";
  live = { ctx, mic, ws, player, capture, open: false };
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "start", parameters: { page: "talk" } }));
    live.open = true;
    say("Connecting…");
  };
  capture.port.onmessage = (e) => {
    if (live?.open && ws.readyState === WebSocket.OPEN) ws.send(e.data);
  };
  player.port.onmessage = (e) => {
    const msg = e.data;
    if (msg.type === "played") echoMark(msg.mark);
    else if (msg.type === "cleared") msg.marks.forEach(echoMark);
    else if (msg.type === "playing") $("bot").classList.toggle("on", msg.on);
  };
  ws.onmessage = (e) => {
    if (typeof e.data === "string") onMessage(JSON.parse(e.data));
    else player.port.postMessage({ type: "pcm", pcm: e.data }, [e.data]);
  };
  ws.onclose = () => finish();
  ws.onerror = () => say("The connection to the server failed.", true);
  button.textContent = "Hang up";
  button.className = "stop";
  button.disabled = false;
}

function finish() {
  if (!live) return;
  const { ctx, mic } = live;
  live = null;
  mic.getTracks().forEach((t) => t.stop());
  ctx.close();
  callerLine = null;
  $("you").classList.remove("on");
  $("bot").classList.remove("on");
  const button = $("start");
  button.textContent = "Start talking";
  button.className = "primary";
  if (!$("status").style.color) say("Call ended. Press start to call again.");
}

function hangUp() {
  const ws = live?.ws;
  if (!ws) return;
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "stop" }));
  setTimeout(() => ws.close(), 2000); // the server closes first, once the call is written
}

$("start").onclick = () => (live ? hangUp() : start());
$("legend").append(legend());
