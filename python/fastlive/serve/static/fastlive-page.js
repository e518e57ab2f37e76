// The page served at "/": the liveness check with a Start button (the ES module does the work).
import { mountLivenessCheck } from "/client/fastlive-liveness.js";

const params = new URLSearchParams(window.location.search);
const check = mountLivenessCheck(document.getElementById("liveness"), {
  ctx: params.get("ctx"),
});
const button = document.getElementById("start");
const tokenBox = document.getElementById("token-box");

check.addEventListener("verdict", (e) => {
  document.getElementById("token").textContent = e.detail.token;
  tokenBox.hidden = false;
  button.textContent = "Try again";
  button.disabled = false;
});
check.addEventListener("error", () => {
  button.textContent = "Try again";
  button.disabled = false;
});
button.addEventListener("click", () => {
  button.disabled = true;
  tokenBox.hidden = true;
  check.start().catch(() => {});
});
