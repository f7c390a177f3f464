// A scoring service in Node's http module: keep-alive, chunked responses
// (res.write before res.end, no Content-Length). usage: node scoring_node.js PORT
'use strict';
const http = require('http');
const crypto = require('crypto');

const port = parseInt(process.argv[2], 10);
const srv = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    if (req.url === '/health') {
      res.setHeader('Content-Type', 'application/json');
      res.end('{"status":"ok"}');
      return;
    }
    const h = crypto.createHash('sha256').update(body).digest().readUInt32BE(0);
    const score = Math.round((h % 10000)) / 10000;
    const j = body.length ? JSON.parse(body) : {};
    const out = JSON.stringify({ applicant_id: j.applicant_id, approve: score >= 0.5,
                                 score: score, model: 'node-scorer-v1' });
    res.setHeader('Content-Type', 'application/json');
    const cut = Math.floor(out.length / 2);
    res.write(out.slice(0, cut));
    res.end(out.slice(cut));
  });
});
srv.keepAliveTimeout = 120000;
srv.listen(port, '127.0.0.1', () => console.log('ready ' + srv.address().port));
