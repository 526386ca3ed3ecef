export { makeGreeting, renderGreeting } from "./greeting";
