<?php
// Takes every message a RabbitMQ queue holds (basic.get, acknowledged) and prints each as one
// JSON line: {"routing_key": ..., "body": ..., "headers": {...}}; then "drained N". Declares
// the queue durable first, as a shop reading its results would, in case the node has not
// published any yet.
//   php amqp_drain.php HOST PORT QUEUE
[$_, $host, $port, $queue] = $argv;

$connection = new AMQPConnection(['host' => $host, 'port' => (int)$port,
                                  'login' => 'guest', 'password' => 'guest']);
$connection->connect();
$channel = new AMQPChannel($connection);
$source = new AMQPQueue($channel);
$source->setName($queue);
$source->setFlags(AMQP_DURABLE);
$source->declareQueue();

$drained = 0;
while (($message = $source->get(AMQP_AUTOACK)) !== false) {
    echo json_encode(['routing_key' => $message->getRoutingKey(),
                      'body' => $message->getBody(),
                      'headers' => (object)$message->getHeaders()],
                     JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    $drained++;
}
$connection->disconnect();
echo "drained $drained\n";
