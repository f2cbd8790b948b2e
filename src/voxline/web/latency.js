// A turn's latency, from the timings the server records (seconds on the call's clock):
// end of the caller's speech -> transcript -> the agent's first token -> the bot's first audio.

export const STEPS = [
  { key: "transcript", label: "transcript", color: "#5b8def" },
  { key: "agent", label: "first token", color: "#f0a030" },
  { key: "speech", label: "first audio", color: "#3fae6a" },
];

// The three steps in ms, or null for a turn that has no caller speech or never spoke.
export function latencySteps(t) {
  if (!t || !t.speech_end || !t.first_audio) return null;
  const heard = Math.max(t.speech_end, t.respond ?? t.final ?? t.interim ?? t.speech_end);
  const token = Math.min(Math.max(heard, t.agent_first ?? t.first_segment ?? heard), t.first_audio);
  const ms = (a, b) => Math.max(0, Math.round(1000 * (b - a)));
  const steps = {
    transcript: ms(t.speech_end, heard),
    agent: ms(heard, token),
    speech: ms(token, t.first_audio),
  };
  steps.total = steps.transcript + steps.agent + steps.speech;
  return steps;
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

// A stacked horizontal bar (HTML) for one turn; `scaleMs` is the full width.
export function latencyBar(steps, scaleMs = 3000) {
  const bar = document.createElement("div");
  bar.className = "latency";
  const track = document.createElement("div");
  track.className = "latency-track";
  for (const step of STEPS) {
    const seg = document.createElement("span");
    seg.className = `latency-seg seg-${step.key}`;
    seg.style.width = `${Math.min(100, (100 * steps[step.key]) / scaleMs)}%`;
    seg.style.background = step.color;
    seg.title = `${step.label}: ${steps[step.key]} ms`;
    track.appendChild(seg);
  }
  const label = document.createElement("span");
  label.className = "latency-label";
  label.textContent = `${steps.total} ms`;
  label.title = STEPS.map((s) => `${s.label} ${steps[s.key]} ms`).join(" · ");
  bar.append(track, label);
  return bar;
}

// An SVG chart of several turns, one stacked row each, with a time axis.
export function latencyChart(rows, width = 640) {
  const rowH = 22, left = 190, right = 70, top = 8, axis = 22;
  const maxMs = Math.max(1000, ...rows.map((r) => r.steps.total));
  const scale = (width - left - right) / maxMs;
  const height = top + rows.length * rowH + axis;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="latency-chart" viewBox="0 0 ${width} ${height}"` +
      ` width="100%" role="img" aria-label="Latency per turn">`,
  ];
  const tick = maxMs > 4000 ? 1000 : 500;
  for (let ms = 0; ms <= maxMs; ms += tick) {
    const x = left + ms * scale;
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${height - axis}" class="grid"/>`);
    parts.push(`<text x="${x}" y="${height - 6}" class="axis">${ms / 1000}s</text>`);
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 15}" class="row-label">${esc(row.label)}</text>`);
    let x = left;
    for (const step of STEPS) {
      const w = row.steps[step.key] * scale;
      parts.push(
        `<rect x="${x}" y="${y + 3}" width="${w}" height="${rowH - 6}" fill="${step.color}">` +
          `<title>${step.label}: ${row.steps[step.key]} ms</title></rect>`,
      );
      x += w;
    }
    parts.push(`<text x="${x + 6}" y="${y + 15}" class="total">${row.steps.total} ms</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}

export function legend() {
  const el = document.createElement("div");
  el.className = "legend";
  el.innerHTML = STEPS.map(
    (s) => `<span><i style="background:${s.color}"></i>${esc(s.label)}</span>`,
  ).join("");
  el.prepend("end of speech → ");
  return el;
}
