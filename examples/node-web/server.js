// A tiny web app for localspace: answers every request on $PORT.
import http from 'node:http'

const port = Number(process.env.PORT ?? 5000)

http
  .createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
    response.end(
      `Hello from ${process.env.DYNO ?? 'node-web'} (${request.method} ${request.url})\n`,
    )
  })
  .listen(port, () => console.log(`node-web listening on ${port}`))
