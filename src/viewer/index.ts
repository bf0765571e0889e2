/** The offline live viewer: `startViewer(conductor)` serves one page on 127.0.0.1. */
export {
  startViewer,
  type Move,
  type ViewedSession,
  type Viewer,
  type ViewerOptions,
  type ViewerSource,
} from "./server.js";
export { layoutGraph, shortEvent, type Layout, type PlacedState, type RoutedEdge } from "./layout.js";
export { renderSvg } from "./svg.js";
export { renderPage, STATE_COLORS } from "./page.js";
