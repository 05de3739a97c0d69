// A square to draw one digit in, with a finger, a pen or a mouse: white ink on black, as MNIST's
// digits are. It does nothing but draw: no tool to pick by mistake, no stroke to drag away.
//
// Python sends {side, brush}: the canvas's size in pixels and the pen's width. The pad sends its
// picture as a PNG data: URL in its state "drawing" while a stroke goes on (every SEND_EVERY_MS
// from its start, so the answer follows a slow pen), when it ends, and after Undo; null once it
// is empty. Each send is a run of the page's fragment on the server, shared by the whole class:
// 800 ms rather than 400 cut the server's CPU per stroke by 2.4-3x (benchmarks/class_load.py).
// Undo and Clear act here, in the browser, at once: a stroke begun right after Clear must not
// be wiped by a Clear that is still on its way back from the server.

const SEND_EVERY_MS = 800;
const pads = new WeakMap(); // parent element -> its pad, which outlives Streamlit's re-renders

function paint(context, stroke, from = 0) {
  const points = stroke.points.slice(Math.max(from - 1, 0));
  context.strokeStyle = context.fillStyle = "#fff";
  context.lineWidth = stroke.width;
  context.lineCap = context.lineJoin = "round";
  if (points.length === 1) {
    context.beginPath();
    context.arc(points[0].x, points[0].y, stroke.width / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.beginPath();
  context.moveTo(points[0].x, points[0].y);
  for (const point of points.slice(1)) context.lineTo(point.x, point.y);
  context.stroke();
}

function mount(parent) {
  const canvas = parent.querySelector("canvas");
  const context = canvas.getContext("2d");
  const pad = { canvas, context, strokes: [], stroke: null, pointer: null, sentAt: 0, timer: null };

  pad.repaint = () => {
    context.fillStyle = "#000";
    context.fillRect(0, 0, canvas.width, canvas.height);
    for (const stroke of pad.strokes) paint(context, stroke);
  };
  pad.send = () => {
    clearTimeout(pad.timer);
    pad.timer = null;
    pad.sentAt = performance.now();
    pad.setStateValue("drawing", pad.strokes.length ? canvas.toDataURL("image/png") : null);
  };
  const sendSoon = () => {
    const wait = pad.sentAt + SEND_EVERY_MS - performance.now();
    if (wait <= 0) pad.send();
    else if (pad.timer === null) pad.timer = setTimeout(pad.send, wait);
  };
  const at = (event) => {
    // The canvas may be shown smaller than it is (a narrow screen): back to its own pixels.
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * canvas.width) / box.width,
      y: ((event.clientY - box.top) * canvas.height) / box.height,
    };
  };

  canvas.addEventListener("pointerdown", (event) => {
    if (pad.pointer !== null || event.button > 0) return; // a second finger or a palm: ignored
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    pad.pointer = event.pointerId;
    pad.stroke = { width: pad.brush, points: [at(event)] };
    pad.sentAt = performance.now(); // the first send comes SEND_EVERY_MS in, not for a dot
    pad.strokes.push(pad.stroke);
    paint(context, pad.stroke);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (event.pointerId !== pad.pointer) return;
    const drawn = pad.stroke.points.length;
    const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const move of moves.length ? moves : [event]) pad.stroke.points.push(at(move));
    paint(context, pad.stroke, drawn);
    sendSoon();
  });
  const end = (event) => {
    if (event.pointerId !== pad.pointer) return;
    pad.pointer = pad.stroke = null;
    pad.send();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  const takeBack = (all) => {
    if (all) pad.strokes = [];
    else pad.strokes.pop();
    pad.pointer = pad.stroke = null;
    pad.repaint();
    pad.send();
  };
  parent.querySelector("[data-undo]").addEventListener("click", () => takeBack(false));
  parent.querySelector("[data-clear]").addEventListener("click", () => takeBack(true));
  return pad;
}

export default function ({ parentElement, data, setStateValue }) {
  let pad = pads.get(parentElement);
  if (!pad) {
    pad = mount(parentElement);
    pads.set(parentElement, pad);
    pad.canvas.width = pad.canvas.height = data.side;
    parentElement.querySelector(".pad").style.maxWidth = `${data.side}px`;
    pad.repaint();
  }
  pad.setStateValue = setStateValue;
  pad.brush = data.brush;
  return () => {
    clearTimeout(pad.timer);
    pads.delete(parentElement);
  };
}
