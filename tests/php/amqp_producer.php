<?php
// A web shop's producer, as the seed's PHP code would publish orders to RabbitMQ: one JSON
// object per message, persistent, to a durable queue (php-amqp, Debian's php-amqp package).
//   php amqp_producer.php HOST PORT QUEUE PREFIX COUNT [MALFORMED]
// Publishes COUNT orders with references PREFIX-0 .. PREFIX-(COUNT-1) (shop_orders.php),
// then MALFORMED (0 by default) broken messages of three kinds in turn. Prints "published N"
// and exits 0.
require __DIR__ . '/shop_orders.php';
[$_, $host, $port, $queue, $prefix, $count] = $argv;
$malformed = (int)($argv[6] ?? 0);

$connection = new AMQPConnection(['host' => $host, 'port' => (int)$port,
                                  'login' => 'guest', 'password' => 'guest']);
$connection->connect();
$channel = new AMQPChannel($connection);
$orders = new AMQPQueue($channel);
$orders->setName($queue);
$orders->setFlags(AMQP_DURABLE);
$orders->declareQueue();
// The default exchange routes a message to the queue its routing key names.
$exchange = new AMQPExchange($channel);
$persistent = ['delivery_mode' => 2,  // persistent
               'content_type' => 'application/json'];

$published = 0;
for ($i = 0; $i < $count; $i++, $published++)
    $exchange->publish(shop_order($prefix, $i), $queue, AMQP_NOPARAM, $persistent);
for ($i = 0; $i < $malformed; $i++, $published++)
    $exchange->publish(broken_message($prefix, $i), $queue, AMQP_NOPARAM, $persistent);
$connection->disconnect();
echo "published $published\n";
