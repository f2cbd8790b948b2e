// The talk page's two audio processors, run on the browser's audio thread.
//
// voxline-capture: microphone (at the context's rate, low-passed by the page) -> 16 kHz 16-bit
//   PCM, posted in 20 ms frames (320 samples) for the WebSocket.
// voxline-player: the bot's 16 kHz PCM -> the speakers, in order, with marks in between. A mark
//   is posted back once the audio before it has been played; "clear" drops everything queued
//   at once and posts back every pending mark (the server counts those as cut).

const RATE = 16000;
const FRAME = 320;

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / RATE; // input samples per output sample
    this.t = 0; // where the next output sample falls, in input samples from this block's start
    this.last = 0; // the previous block's last sample (index -1)
    this.frame = new Int16Array(FRAME);
    this.n = 0;
  }

  process(inputs) {
    const x = inputs[0] && inputs[0][0];
    if (!x || !x.length) return true;
    let t = this.t;
    while (t < x.length - 1) {
      const i = Math.floor(t);
      const f = t - i;
      const a = i < 0 ? this.last : x[i];
      const v = a + (x[i + 1] - a) * f; // linear interpolation between the two neighbours
      this.frame[this.n++] = Math.max(-32768, Math.min(32767, Math.round(v * 32768)));
      if (this.n === FRAME) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(FRAME);
        this.n = 0;
      }
      t += this.step;
    }
    this.t = t - x.length;
    this.last = x[x.length - 1];
    return true;
  }
}

class Player extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = RATE / sampleRate; // bot samples per output sample
    this.queue = []; // Float32Array chunks and {mark} items, in the order they came
    this.pos = 0; // fractional read position in the head chunk
    this.port.onmessage = (e) => this.receive(e.data);
  }

  receive(msg) {
    if (msg.type === "pcm") {
      const pcm = new Int16Array(msg.pcm);
      const chunk = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) chunk[i] = pcm[i] / 32768;
      if (chunk.length) this.queue.push(chunk);
    } else if (msg.type === "mark") {
      this.queue.push({ mark: msg.name });
    } else if (msg.type === "clear") {
      const marks = this.queue.filter((item) => item.mark).map((item) => item.mark);
      this.queue = [];
      this.pos = 0;
      this.port.postMessage({ type: "cleared", marks });
    }
  }

  // Posts the marks at the head of the queue: everything before them has been played.
  marks() {
    while (this.queue.length && this.queue[0].mark) {
      this.port.postMessage({ type: "played", mark: this.queue.shift().mark });
    }
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    let playing = false;
    for (let j = 0; j < out.length; j++) {
      this.marks();
      const chunk = this.queue[0];
      if (!chunk) {
        out.fill(0, j);
        break;
      }
      playing = true;
      const i = Math.floor(this.pos);
      const f = this.pos - i;
      const next = this.queue[1];
      const b = i + 1 < chunk.length ? chunk[i + 1] : next && !next.mark ? next[0] : chunk[i];
      out[j] = chunk[i] + (b - chunk[i]) * f;
      this.pos += this.step;
      if (this.pos >= chunk.length) {
        this.pos -= chunk.length;
        this.queue.shift();
      }
    }
    this.marks();
    if (playing !== this.playing) {
      this.playing = playing;
      this.port.postMessage({ type: "playing", on: playing });
    }
    return true;
  }
}

registerProcessor("voxline-capture", Capture);
registerProcessor("voxline-player", Player);
