// Corridor's 3-D view: the case's surfaces and the implant drawn with WebGL, no library, no
// network.  The case report inlines this file (the report stays one self-contained page); the
// reader-study web application serves it as /static/viewer.js (its pages run no inline script).
//
// Where the scene comes from: <script type="application/json" id="scene"> in the page (the case
// report), else the URL in the canvas's data-scene attribute (fetched, same origin).  The
// scene is a list of objects: colour (RGBA 0..1), positions (LPS mm, flat), indices (flat
// triangles) and, optionally, colours (RGB per vertex, flat).  When drawn, the body's dataset
// gets viewer (ready) and viewerPixels (how many canvas pixels differ from the background); an
// error is shown in #view-errors and sets the dataset's viewerErrors.  (The comment names no
// attribute as the page's DOM would hold it: tests search the DOM for those.)
"use strict";
(function () {
  function fail(message) {
    const box = document.getElementById("view-errors");
    if (box) { box.hidden = false; box.textContent += message + "\n"; }
    document.body.dataset.viewerErrors = "yes";
  }
  window.addEventListener("error", (e) => { fail(e.message || "error"); });
  const canvas = document.getElementById("view");
  const inline = document.getElementById("scene");
  if (inline) {
    view(JSON.parse(inline.textContent));
  } else if (canvas && canvas.dataset.scene) {
    fetch(canvas.dataset.scene, {credentials: "same-origin"})
      .then((r) => { if (!r.ok) { throw new Error("the scene could not be loaded: HTTP " + r.status); } return r.json(); })
      .then(view)
      .catch((e) => { fail((e && e.message) || String(e)); });
  }

  function view(scene) {
    const gl = canvas.getContext("webgl", {preserveDrawingBuffer: true, antialias: true});
    if (!gl) { throw new Error("WebGL is not available in this browser"); }
    const vs = "attribute vec3 p; attribute vec3 n; attribute vec3 k; uniform mat4 m; uniform mat3 r; varying float l; varying vec3 t;" +
      "void main(){ gl_Position = m * vec4(p, 1.0); vec3 nn = normalize(r * n); l = 0.35 + 0.65 * abs(nn.z); t = k; }";
    const fs = "precision mediump float; uniform vec4 c; varying float l; varying vec3 t; void main(){ gl_FragColor = vec4(t * l, c.a); }";
    function shader(type, source) {
      const s = gl.createShader(type); gl.shaderSource(s, source); gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) { throw new Error(gl.getShaderInfoLog(s)); }
      return s;
    }
    const program = gl.createProgram();
    gl.attachShader(program, shader(gl.VERTEX_SHADER, vs));
    gl.attachShader(program, shader(gl.FRAGMENT_SHADER, fs));
    gl.bindAttribLocation(program, 0, "p");  // attribute 0 always enabled: positions
    gl.linkProgram(program); gl.useProgram(program);
    const ext = gl.getExtension("OES_element_index_uint");
    const low = [Infinity, Infinity, Infinity], high = [-Infinity, -Infinity, -Infinity];
    const objects = scene.map((o) => {
      const p = new Float32Array(o.positions), idx = new Uint32Array(o.indices);
      const n = new Float32Array(p.length);
      for (let t = 0; t < idx.length; t += 3) {
        const a = idx[t] * 3, b = idx[t + 1] * 3, c = idx[t + 2] * 3;
        const ux = p[b] - p[a], uy = p[b + 1] - p[a + 1], uz = p[b + 2] - p[a + 2];
        const vx = p[c] - p[a], vy = p[c + 1] - p[a + 1], vz = p[c + 2] - p[a + 2];
        const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
        for (const k of [a, b, c]) { n[k] += nx; n[k + 1] += ny; n[k + 2] += nz; }
      }
      for (let i = 0; i < p.length; i += 3) {
        for (let d = 0; d < 3; d++) { low[d] = Math.min(low[d], p[i + d]); high[d] = Math.max(high[d], p[i + d]); }
      }
      const buffer = (target, data) => { const b = gl.createBuffer(); gl.bindBuffer(target, b); gl.bufferData(target, data, gl.STATIC_DRAW); return b; };
      // per-vertex colours (uncertainty tint) where the object has them, else its own colour
      const k = o.colours ? buffer(gl.ARRAY_BUFFER, new Float32Array(o.colours)) : null;
      return {colour: o.colour, count: idx.length, p: buffer(gl.ARRAY_BUFFER, p), n: buffer(gl.ARRAY_BUFFER, n), k: k,
              i: buffer(gl.ELEMENT_ARRAY_BUFFER, ext ? idx : new Uint16Array(idx)), type: ext ? gl.UNSIGNED_INT : gl.UNSIGNED_SHORT};
    });
    const centre = low.map((v, d) => (v + high[d]) / 2);
    const size = Math.max(...high.map((v, d) => v - low[d])) || 1;
    let yaw = 0.6, pitch = -1.2, zoom = 1.0;
    function matrices() {
      const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
      // rotation: about z (yaw) then x (pitch); LPS in, view out
      const r = [cy, -sy, 0, sy * cp, cy * cp, -sp, sy * sp, cy * sp, cp];
      const s = 1.8 / (size * zoom), aspect = canvas.width / canvas.height;
      const m = new Float32Array(16);
      for (let row = 0; row < 3; row++) {
        for (let col = 0; col < 3; col++) { m[col * 4 + row] = r[row * 3 + col] * s * (row === 0 ? 1 / aspect : 1) * (row === 2 ? 0.5 : 1); }
      }
      for (let row = 0; row < 3; row++) {
        let t = 0; for (let col = 0; col < 3; col++) { t -= m[col * 4 + row] * centre[col]; } m[12 + row] = t;
      }
      m[15] = 1;
      const rm = new Float32Array([r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]]);
      return [m, rm];
    }
    const loc = {p: gl.getAttribLocation(program, "p"), n: gl.getAttribLocation(program, "n"), k: gl.getAttribLocation(program, "k"),
                 m: gl.getUniformLocation(program, "m"), r: gl.getUniformLocation(program, "r"), c: gl.getUniformLocation(program, "c")};
    function draw() {
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.clearColor(0.06, 0.08, 0.12, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
      gl.enable(gl.DEPTH_TEST); gl.enable(gl.BLEND); gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
      const [m, rm] = matrices();
      gl.uniformMatrix4fv(loc.m, false, m); gl.uniformMatrix3fv(loc.r, false, rm);
      const order = objects.slice().sort((a, b) => b.colour[3] - a.colour[3]);  // opaque first
      for (const o of order) {
        gl.depthMask(o.colour[3] >= 1.0);
        gl.uniform4fv(loc.c, o.colour);
        gl.bindBuffer(gl.ARRAY_BUFFER, o.p); gl.enableVertexAttribArray(loc.p); gl.vertexAttribPointer(loc.p, 3, gl.FLOAT, false, 0, 0);
        gl.bindBuffer(gl.ARRAY_BUFFER, o.n); gl.enableVertexAttribArray(loc.n); gl.vertexAttribPointer(loc.n, 3, gl.FLOAT, false, 0, 0);
        if (o.k) { gl.bindBuffer(gl.ARRAY_BUFFER, o.k); gl.enableVertexAttribArray(loc.k); gl.vertexAttribPointer(loc.k, 3, gl.FLOAT, false, 0, 0); }
        else { gl.disableVertexAttribArray(loc.k); gl.vertexAttrib3f(loc.k, o.colour[0], o.colour[1], o.colour[2]); }
        gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, o.i); gl.drawElements(gl.TRIANGLES, o.count, o.type, 0);
      }
      gl.depthMask(true);
    }
    let dragging = null;
    canvas.addEventListener("mousedown", (e) => { dragging = [e.clientX, e.clientY]; });
    window.addEventListener("mouseup", () => { dragging = null; });
    window.addEventListener("mousemove", (e) => {
      if (!dragging) return;
      yaw += (e.clientX - dragging[0]) * 0.01; pitch += (e.clientY - dragging[1]) * 0.01;
      dragging = [e.clientX, e.clientY]; draw();
    });
    canvas.addEventListener("wheel", (e) => { e.preventDefault(); zoom *= e.deltaY > 0 ? 1.1 : 0.9; draw(); }, {passive: false});
    draw();
    // How many pixels the scene covers (differ from the background): a blank view reads 0.
    const pixels = new Uint8Array(canvas.width * canvas.height * 4);
    gl.readPixels(0, 0, canvas.width, canvas.height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    let drawn = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (Math.abs(pixels[i] - 15) + Math.abs(pixels[i + 1] - 20) + Math.abs(pixels[i + 2] - 31) > 12) { drawn++; }
    }
    document.body.dataset.viewerPixels = String(drawn);
    document.body.dataset.viewer = "ready";
  }
})();
