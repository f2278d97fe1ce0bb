// The chat page: the official Socket.IO client (served from its npm package) talking to
// examples/chat/app.rs. Every text from the network goes into the page with textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const socket = io(); // same origin, default path /socket.io/

let me = null; // { nick, room } once joined
const typingNow = new Set();
let typingTimer = null;
let typingSent = false;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function scrollDown() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

function showMessage(message) {
  const item = el("li", me && message.nick === me.nick ? "message mine" : "message");
  const time = new Date(message.time);
  item.append(
    el("span", "time", time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
    el("span", "nick", message.nick),
    el("span", "text", message.text),
  );
  $("messages").append(item);
  scrollDown();
}

function showNotice(text) {
  $("messages").append(el("li", "notice", text));
  scrollDown();
}

function showMembers(members) {
  const list = $("members");
  list.replaceChildren(...members.map((nick) => el("li", "member", nick)));
}

function showTyping() {
  const names = [...typingNow];
  $("typing").textContent =
    names.length === 0 ? "" :
    names.length === 1 ? `${names[0]} is typing…` :
    `${names.join(", ")} are typing…`;
}

function setTyping(typing) {
  if (!me || typing === typingSent) return;
  typingSent = typing;
  socket.emit("typing", typing);
}

function join(nick, room) {
  $("join-error").textContent = "";
  socket.emit("join", { nick, room }, (answer) => {
    if (!answer || answer.error) {
      $("join-error").textContent = answer ? answer.error : "no answer";
      return;
    }
    me = { nick: answer.nick, room: answer.room };
    typingNow.clear();
    showTyping();
    $("current-room").textContent = answer.room;
    $("messages").replaceChildren();
    answer.history.forEach(showMessage);
    showNotice(`You joined ${answer.room} as ${answer.nick}.`);
    showMembers(answer.members);
    $("message").disabled = false;
    $("send").disabled = false;
    $("message").placeholder = `message #${answer.room}`;
    $("message").focus();
    document.body.dataset.room = answer.room; // lets the browser test know the join is done
    markCurrentRoom();
  });
}

function markCurrentRoom() {
  for (const item of $("rooms").children) {
    item.classList.toggle("current", me !== null && item.dataset.room === me.room);
  }
}

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  join($("nick").value, $("room").value);
});

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value;
  if (!text.trim()) return;
  $("send-error").textContent = "";
  clearTimeout(typingTimer);
  setTyping(false);
  socket.emit("message", text, (answer) => {
    if (answer && answer.error) $("send-error").textContent = answer.error;
  });
  $("message").value = "";
});

$("message").addEventListener("input", () => {
  setTyping($("message").value.length > 0);
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => setTyping(false), 2000);
});

socket.on("connect", () => {
  $("status").textContent = "online";
  $("status").className = "status online";
  if (me) join(me.nick, me.room); // back after a reconnection
});

socket.on("disconnect", () => {
  $("status").textContent = "offline";
  $("status").className = "status offline";
  typingSent = false;
});

socket.on("rooms", (rooms) => {
  $("rooms").replaceChildren(...rooms.map((room) => {
    const item = el("li", "room", room.name);
    item.dataset.room = room.name;
    item.append(el("span", "count", String(room.members)));
    item.title = `join ${room.name}`;
    item.addEventListener("click", () => {
      const nick = $("nick").value || (me && me.nick) || "";
      $("room").value = room.name;
      join(nick, room.name);
    });
    return item;
  }));
  markCurrentRoom();
});

socket.on("joined", (presence) => {
  showNotice(`${presence.nick} joined ${presence.room}.`);
  showMembers(presence.members);
});

socket.on("left", (presence) => {
  typingNow.delete(presence.nick);
  showTyping();
  showNotice(`${presence.nick} left ${presence.room}.`);
  showMembers(presence.members);
});

socket.on("message", (message) => {
  typingNow.delete(message.nick);
  showTyping();
  showMessage(message);
});

socket.on("typing", ({ nick, typing }) => {
  if (typing) typingNow.add(nick); else typingNow.delete(nick);
  showTyping();
});
