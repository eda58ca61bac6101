// Loader for <tm-agent-tasks>: loads the widget's WebAssembly and defines the element.
// Usage: <script type="module" src="/widget/tm-agent-tasks.js"></script>
//        <tm-agent-tasks api-key="..." user="sip:anna@contoso.com" refresh-seconds="10"></tm-agent-tasks>
import init, { defineElement } from "./pkg/tm_web_widget.js";

export const ready = init({ module_or_path: new URL("./pkg/tm_web_widget_bg.wasm", import.meta.url) })
  .then(() => defineElement());
export default ready;
