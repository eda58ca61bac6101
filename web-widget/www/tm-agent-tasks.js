// Loader for <tm-agent-tasks>: loads the widget's WebAssembly and defines the element.
// Usage: <script type="module" src="/widget/tm-agent-tasks.js"></script>
//        <tm-agent-tasks session-url="/my-backend/tm-session"></tm-agent-tasks>
//   (or session="<token>" user="sip:anna@contoso.com"; api-key="..." still works, but hands the
//   browser a key for the whole organization)
import init, { defineElement } from "./pkg/tm_web_widget.js";

export const ready = init({ module_or_path: new URL("./pkg/tm_web_widget_bg.wasm", import.meta.url) })
  .then(() => defineElement());
export default ready;
