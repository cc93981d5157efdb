/**
 * The aircraft layer's shaders: dead reckoning, the blend onto a new
 * measurement, heading, constant on-screen size, ghosting and search
 * dimming, all per vertex from the instance attributes of
 * aircraft_instances.ts and a handful of uniforms. The same arithmetic in
 * JavaScript is `instanceAt` there (picking, tests); keep them in step.
 *
 * Browser only (three.js).
 *
 * @module
 */
import * as THREE from "three";
import { GHOST_COLOUR, HIGHLIGHT_COLOUR } from "./colour_scale.ts";
import {
  MIN_ALT_M,
  MODE_MATCH,
  MODE_SELECTED,
  SIZE_GROUND,
  SIZE_MATCH,
  SIZE_SELECTED,
} from "./aircraft_instances.ts";
import { EARTH_RADIUS_M } from "../geo/mod.ts";
import { GLOBE_RADIUS } from "./globe_coords.ts";

const f = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
const vec3 = (c: readonly number[]) => `vec3(${c.map(f).join(", ")})`;

/** GLSL of the vertex shader (three.js adds the matrices, `position`, `uv` and `cameraPosition`). */
export const VERTEX_SHADER = /* glsl */ `
attribute vec4 aBase;
attribute vec4 aKin;
attribute vec4 aVel;
attribute vec4 aCorr;
attribute vec4 aStyle;
attribute vec4 aColour;
uniform float uNow;
uniform float uCap;
uniform float uPxScale;
uniform float uSelectedSize;
uniform float uSearch;
varying vec2 vUv;
varying vec3 vColour;
const float EARTH_R = ${f(EARTH_RADIUS_M)};
// sin and cos of the small angles dead reckoning turns by (GPU sin/cos are too coarse).
float sinSmall(float x) { float x2 = x * x; return x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0)); }
float cosSmall(float x) { float x2 = x * x; return 1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0)); }
void main() {
  float age = uNow - aKin.y;
  float dt = clamp(age, 0.0, uCap);
  // Dead reckoning on the tangent plane, plus what is left of the blend.
  float w = clamp(1.0 - (uNow - aCorr.w) / aVel.w, 0.0, 1.0);
  float dn = aVel.x * dt + aCorr.x * w;
  float de = aVel.y * dt + aCorr.y * w;
  float altM = aKin.x + aVel.z * dt + aCorr.z * w;
  float dPhi = -dn / EARTH_R;
  float dTheta = -de * aKin.z / EARTH_R;
  float sd = sinSmall(dPhi), cd = cosSmall(dPhi), se = sinSmall(dTheta), ce = cosSmall(dTheta);
  float sp = aBase.x * cd + aBase.y * sd, cp = aBase.y * cd - aBase.x * sd;
  float st = aBase.z * ce + aBase.w * se, ct = aBase.w * ce - aBase.z * se;
  bool ground = aStyle.w > 0.5;
  float alt = ground ? ${f(MIN_ALT_M)} : max(${f(MIN_ALT_M)}, altM);
  vec3 up = vec3(sp * ct, cp, sp * st);
  vec3 centre = up * (${f(GLOBE_RADIUS)} * (1.0 + alt / EARTH_R));
  float cT = aStyle.x, sT = aStyle.y;
  vec3 fwd = vec3(-cT * cp * ct + sT * st, cT * sp, -cT * cp * st - sT * ct);
  vec3 right = cross(fwd, up);
  int mode = int(aStyle.z + 0.5);
  float size = mode == ${MODE_SELECTED} ? uSelectedSize : mode == ${MODE_MATCH} ? ${
  f(SIZE_MATCH)
} : 1.0;
  if (ground) size *= ${f(SIZE_GROUND)};
  vec3 world = (modelMatrix * vec4(centre, 1.0)).xyz;
  float scale = length(cameraPosition - world) * uPxScale * size;
  vec3 p = centre + (right * position.x + fwd * position.y + up * position.z) * scale;
  gl_Position = projectionMatrix * modelViewMatrix * vec4(p, 1.0);
  // Ghosting: 0 until two update intervals old, 1 where extrapolation stops.
  float start = 2.0 * max(0.0, aKin.w);
  float ghost = age <= start ? 0.0 : start >= uCap ? 1.0 : min(1.0, (age - start) / (uCap - start));
  vec3 c = mix(aColour.rgb, ${vec3(GHOST_COLOUR)}, ghost * 0.85);
  if (mode == ${MODE_SELECTED}) c = mix(c, ${vec3(HIGHLIGHT_COLOUR)}, 0.35);
  else if (uSearch > 0.5 && mode != ${MODE_MATCH}) c = mix(c, ${vec3(GHOST_COLOUR)}, 0.75);
  vColour = c;
  vUv = uv;
}
`;

/** GLSL of the fragment shader: the silhouette mask's alpha, the instance colour. */
export const FRAGMENT_SHADER = /* glsl */ `
uniform sampler2D uMap;
uniform float uAlphaTest;
uniform float uBlend;
varying vec2 vUv;
varying vec3 vColour;
void main() {
  float a = texture2D(uMap, vUv).a;
  if (a < uAlphaTest) discard;
  gl_FragColor = vec4(vColour, uBlend > 0.5 ? a : 1.0);
  #include <tonemapping_fragment>
  #include <colorspace_fragment>
}
`;

/** The layer's material; `blend: false` draws opaque with an alpha test (cheaper in software). */
export function aircraftMaterial(map: THREE.Texture, blend: boolean): THREE.ShaderMaterial {
  return new THREE.ShaderMaterial({
    vertexShader: VERTEX_SHADER,
    fragmentShader: FRAGMENT_SHADER,
    uniforms: {
      uNow: { value: 0 },
      uCap: { value: 60 },
      uPxScale: { value: 0 },
      uSelectedSize: { value: SIZE_SELECTED },
      uSearch: { value: 0 },
      uMap: { value: map },
      uAlphaTest: { value: blend ? 0.05 : 0.5 },
      uBlend: { value: blend ? 1 : 0 },
    },
    side: THREE.DoubleSide,
    transparent: blend,
    depthWrite: !blend,
  });
}
