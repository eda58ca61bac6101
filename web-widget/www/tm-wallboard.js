// Loader for <tm-wallboard>: loads the widget's WebAssembly (the wallboard shares it) and
// defines the element.
// Usage: <script type="module" src="/widget/tm-wallboard.js"></script>
//        <tm-wallboard team="sip:support@contoso.com" api-key="tm_…"></tm-wallboard>
import init, { defineWallboard } from "./pkg/tm_web_widget.js";

export const ready = init({ module_or_path: new URL("./pkg/tm_web_widget_bg.wasm", import.meta.url) })
  .then(() => defineWallboard());
export default ready;
